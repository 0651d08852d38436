import { describe, expect, it } from 'vitest';
import { workerOptionsFromArgs } from '../src/index.js';

describe('nectar worker speaks nectar get\'s vocabulary', () => {
  it('reads -j, --limit-rate sizes and durations in seconds', async () => {
    const options = await workerOptionsFromArgs(['-j', '4', '--limit-rate', '2M', '--lock-duration', '1.5', '--stalled-interval', '0.5', '--sweep-min-age', '30', '--metrics-port', '0'], {});
    expect(options).toMatchObject({ concurrency: 4, config: { maxSpeed: 2 * 1024 * 1024 }, lockDuration: 1500, stalledInterval: 500, sweepMinAge: 30_000, metricsPort: 0 });
    expect((await workerOptionsFromArgs(['--max-concurrent', '2', '--limit-rate', '500K'], {}))?.config).toEqual({ maxSpeed: 512_000 });
  });

  it('refuses bad values naming the flag, and the old millisecond flags', async () => {
    await expect(workerOptionsFromArgs(['--limit-rate', '2X'], {})).rejects.toThrow(/--limit-rate must be a size like 500K/);
    await expect(workerOptionsFromArgs(['--lock-duration', 'soon'], {})).rejects.toThrow(/--lock-duration must be a number of seconds/);
    await expect(workerOptionsFromArgs(['-j', '0'], {})).rejects.toThrow(/--max-concurrent must be a whole number of at least 1/);
    await expect(workerOptionsFromArgs(['--concurrency', '8'], {})).rejects.toThrow(/concurrency/);
    await expect(workerOptionsFromArgs(['--max-speed', '1000'], {})).rejects.toThrow(/max-speed/);
  });
});
