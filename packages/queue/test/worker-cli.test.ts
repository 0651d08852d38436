import { describe, expect, it } from 'vitest';
import { workerOptionsFromArgs } from '../src/index.js';

describe('nectar worker speaks nectar get\'s vocabulary', () => {
  it('reads -j, --limit-rate sizes and durations in seconds', async () => {
    const options = await workerOptionsFromArgs(['-j', '4', '--limit-rate', '2M', '--lock-duration', '1.5', '--stalled-interval', '0.5', '--sweep-min-age', '30', '--metrics-port', '0'], {});
    expect(options).toMatchObject({ concurrency: 4, config: { maxSpeed: 2 * 1024 * 1024 }, lockDuration: 1500, stalledInterval: 500, sweepMinAge: 30_000, metricsPort: 0 });
    expect((await workerOptionsFromArgs(['--max-concurrent', '2', '--limit-rate', '500K'], {}))?.config).toEqual({ maxSpeed: 512_000 });
  });

  it("reads core's per-host limits for the worker's own downloader under nectar get's flags", async () => {
    const options = await workerOptionsFromArgs(['--max-per-host', '2', '--host-rate', '30/m', '--limit-rate-per-host', '1M', '--limit-rate', '2M'], {});
    expect(options?.config).toEqual({ maxPerHost: 2, hostRate: 0.5, maxSpeedPerHost: 1024 * 1024, maxSpeed: 2 * 1024 * 1024 });
    expect((await workerOptionsFromArgs(['--parallel-max-host', '3', '--host-rate', '5/s'], {}))?.config).toEqual({ maxPerHost: 3, hostRate: 5 });
    await expect(workerOptionsFromArgs(['--max-per-host', '1', '--parallel-max-host', '2'], {})).rejects.toThrow(/--max-per-host and --parallel-max-host are the same option/);
    await expect(workerOptionsFromArgs(['--host-rate', '0'], {})).rejects.toThrow(/--host-rate must be requests per second or minute like 5\/s or 30\/m/);
    await expect(workerOptionsFromArgs(['--max-per-host', '0'], {})).rejects.toThrow(/--max-per-host must be a whole number of at least 1/);
  });

  it('refuses bad values naming the flag, and the old millisecond flags', async () => {
    await expect(workerOptionsFromArgs(['--limit-rate', '2X'], {})).rejects.toThrow(/--limit-rate must be a size like 500K/);
    await expect(workerOptionsFromArgs(['--lock-duration', 'soon'], {})).rejects.toThrow(/--lock-duration must be a number of seconds/);
    await expect(workerOptionsFromArgs(['-j', '0'], {})).rejects.toThrow(/--max-concurrent must be a whole number of at least 1/);
    await expect(workerOptionsFromArgs(['--concurrency', '8'], {})).rejects.toThrow(/concurrency/);
    await expect(workerOptionsFromArgs(['--max-speed', '1000'], {})).rejects.toThrow(/max-speed/);
  });
});
