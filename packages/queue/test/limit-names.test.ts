import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { clusterKeys, DEPRECATED_WARNING, hostQueueName, QueueAdmin, queueCli } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder } from './support/farm.js';
import { type Origin, peakInWindow, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { startWorker, type WorkerProcess } from './support/workers.js';

/**
 * Issue #18: the queue's per-host options are core's fields — `maxPerHost`, `hostRate` — in the
 * producer's options and config, `QueueAdmin.setLimits`, `nectar queue limits set` (with `nectar
 * get`'s flags) and `nectar worker`; the old names still work, mapped, with a warning.
 */
describe.runIf(redisAvailable)("the farm's per-host limits take core's names", () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];
  const warnings: Error[] = [];
  const onWarning = (w: Error) => void warnings.push(w);
  const deprecations = () => warnings.filter((w) => (w as Error & { code?: string }).code === DEPRECATED_WARNING).map((w) => `${w.name}: ${w.message}`);
  const cli = async (...argv: string[]) => {
    const lines: string[] = [];
    const errors: string[] = [];
    const { status } = await queueCli([...argv, '--redis', redis.url], (l) => lines.push(l), (l) => errors.push(l));
    return { status, text: lines.join('\n'), err: errors.join('\n') };
  };
  const listed = async (cluster: string) => JSON.parse((await cli('limits', '--cluster', cluster, '--json')).text) as Record<string, unknown>;
  const requests = (prefix: string, n: number, query: Record<string, number> = { ms: 300 }) =>
    Array.from({ length: n }, (_, i) => new DownloadRequest(origin.url(`${prefix}-${i}`, query), join(folder.path, `${prefix}-${i}`)));
  const twoWorkers = async (cluster: string, extra: string[] = []) => {
    for (const id of ['n1', 'n2']) workers.push(await startWorker(redis.url, cluster, id, ['--no-fsync', '-j', '4', ...extra]));
  };

  beforeAll(async () => {
    origin = await startOrigin();
    redis = await redisServer();
    folder = await tempFolder();
  });
  beforeEach(() => {
    warnings.length = 0;
    process.on('warning', onWarning);
  });
  afterEach(async () => {
    process.off('warning', onWarning);
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    origin.reset();
  });
  afterAll(async () => {
    await redis?.stop();
    await origin?.stop();
    await folder?.remove();
  });

  it("the producer's config maxPerHost and hostRate are the farm's per-host limits, stored under those names", async () => {
    const cluster = clusterName('config-names');
    await twoWorkers(cluster);
    // Core's own fields in the config: 8 worker slots are free, the origin sees one at a time.
    const d = producer(redis.url, cluster, {}, undefined, { maxPerHost: 1, hostRate: 20 });
    const reports = await d.download(requests('cfg', 4));
    await d.close();
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    expect(origin.peakInFlight).toBe(1);
    expect(await listed(cluster)).toEqual({ [origin.host]: { maxPerHost: 1, hostRate: 20 } });
    expect(deprecations()).toEqual([]);
  }, 60_000);

  it('old names still work, mapped to maxPerHost and hostRate, each with one NECTAR_CONFIG_DEPRECATED warning', async () => {
    const cluster = clusterName('old-names');
    await twoWorkers(cluster);
    const d = producer(redis.url, cluster, { hosts: { [origin.host]: { concurrency: 1, requestsPerSecond: 2 } } });
    const began = performance.now();
    const reports = await d.download(requests('old', 6, { ms: 50 }));
    const tookMs = performance.now() - began;
    await d.close();
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(origin.peakInFlight).toBe(1);
    // 2/s: slots of (1 s + 100 ms)/2 = 550 ms, so 6 requests span at least 5 slots; unlimited they take ~0.3 s.
    const times = origin.hits.map((h) => h.at);
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThan(5 * 550 - 400);
    expect(tookMs).toBeGreaterThan(2000);
    expect(peakInWindow(times, 1000)).toBeLessThanOrEqual(3);
    expect(await listed(cluster)).toEqual({ [origin.host]: { maxPerHost: 1, hostRate: 2 } });
    const said = deprecations();
    expect(said).toHaveLength(2);
    expect(said).toContainEqual(expect.stringMatching(/^DeprecationWarning: hosts\[.*\]\.concurrency is deprecated: use hosts\[.*\]\.maxPerHost/));
    expect(said).toContainEqual(expect.stringMatching(/^DeprecationWarning: hosts\[.*\]\.requestsPerSecond is deprecated: use hosts\[.*\]\.hostRate/));
  }, 60_000);

  it("nectar queue limits set takes nectar get's flags; the old -j and --rate still work and warn", async () => {
    const cluster = clusterName('cli-names');
    const host = origin.host;
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, host), { connection });
    try {
      const set = await cli('limits', 'set', host, '--max-per-host', '1', '--host-rate', '30/m', '--cluster', cluster);
      expect(set).toMatchObject({ status: 0, text: `${host}: 1 at once, 0.5/s` });
      expect(await listed(cluster)).toEqual({ [host]: { maxPerHost: 1, hostRate: 0.5 } });
      expect(await queue.getGlobalConcurrency()).toBe(1);
      expect(await queue.getGlobalRateLimit()).toMatchObject({ max: 1, duration: 2200 });
      expect((await cli('limits', 'set', host, '--parallel-max-host', '3', '--cluster', cluster)).status).toBe(0);
      expect(await listed(cluster)).toEqual({ [host]: { maxPerHost: 3, hostRate: 0.5 } });
      expect(deprecations()).toEqual([]);

      // The old flags: same limits, a warning each.
      expect((await cli('limits', 'set', host, '-j', '2', '--rate', '4', '--cluster', cluster)).status).toBe(0);
      expect(await listed(cluster)).toEqual({ [host]: { maxPerHost: 2, hostRate: 4 } });
      expect(await queue.getGlobalConcurrency()).toBe(2);
      await new Promise((resolve) => setImmediate(resolve));
      expect(deprecations()).toEqual([
        'DeprecationWarning: nectar queue limits set -j/--max-concurrent is deprecated: use --max-per-host, the same limit under @nectar/core\'s name',
        'DeprecationWarning: nectar queue limits set --rate is deprecated: use --host-rate, the same limit under @nectar/core\'s name',
      ]);

      // Two names of one limit, and a byte limit the farm does not hold: usage errors that say why.
      const both = await cli('limits', 'set', host, '--max-per-host', '1', '-j', '2', '--cluster', cluster);
      expect(both).toMatchObject({ status: 2, err: expect.stringContaining('--max-per-host and --max-concurrent are the same limit') });
      const bytes = await cli('limits', 'set', host, '--limit-rate-per-host', '1M', '--cluster', cluster);
      expect(bytes).toMatchObject({ status: 2, err: expect.stringContaining('nectar worker --limit-rate-per-host') });
      expect((await cli('limits', 'set', host, '--host-rate', 'fast', '--cluster', cluster)).err).toContain('--host-rate must be requests per second or minute like 5/s or 30/m');
      expect(await listed(cluster)).toEqual({ [host]: { maxPerHost: 2, hostRate: 4 } });

      // And workers obey --max-per-host: 8 slots, one request at a time at the origin.
      expect((await cli('limits', 'set', host, '--max-per-host', '1', '--cluster', cluster)).status).toBe(0);
      await twoWorkers(cluster);
      const d = producer(redis.url, cluster);
      const reports = await d.download(requests('cli', 4));
      await d.close();
      expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
      expect(origin.peakInFlight).toBe(1);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  }, 60_000);

  it('limits an earlier release stored under the old names are read, listed and merged in the new ones', async () => {
    const cluster = clusterName('stored-old');
    const keys = clusterKeys({ prefix: 'bull', cluster });
    const client = new Redis(redis.url);
    await client.hset(keys.limits, 'old.example', JSON.stringify({ concurrency: 2, requestsPerSecond: 3 }));
    client.disconnect();
    expect(await listed(cluster)).toEqual({ 'old.example': { maxPerHost: 2, hostRate: 3 } });
    expect((await cli('limits', 'set', 'old.example', '--host-rate', '5', '--cluster', cluster)).status).toBe(0);
    expect(await listed(cluster)).toEqual({ 'old.example': { maxPerHost: 2, hostRate: 5 } });
    expect(deprecations()).toEqual([]);
  });

  it('nectar worker --max-per-host bounds that worker\'s own transfers per host (core\'s limit, applied locally)', async () => {
    const cluster = clusterName('worker-flag');
    workers.push(await startWorker(redis.url, cluster, 'w1', ['--no-fsync', '-j', '4', '--max-per-host', '1', '--host-rate', '50/s']));
    const d = producer(redis.url, cluster);
    const reports = await d.download(requests('wf', 4));
    await d.close();
    expect(reports.every((r) => r.state === 'succeeded' && r.storedAt?.worker === 'w1')).toBe(true);
    // No farm limit was set; the worker's own downloader held the origin to one at a time.
    expect(await listed(cluster)).toEqual({});
    expect(origin.peakInFlight).toBe(1);
  }, 60_000);

  it('wrong limits fail with a code, naming the field; maxSpeedPerHost is not a farm limit; setLimits() points to the farm\'s', async () => {
    const make = (hosts: Record<string, unknown>, config = {}) => () => producer(redis.url, clusterName('bad'), { hosts: hosts as never }, undefined, config);
    expect(make({ 'a.example': { maxSpeedPerHost: 1000 } })).toThrow(expect.objectContaining({ code: 'NECTAR_NOT_SUPPORTED', message: expect.stringContaining('nectar worker --limit-rate-per-host') }));
    expect(make({ 'a.example': { concurrency: 2, maxPerHost: 2 } })).toThrow(expect.objectContaining({ code: 'NECTAR_INVALID_CONFIG', message: expect.stringContaining('are the same limit: give maxPerHost only') }));
    expect(make({ 'a.example': { maxPerHsot: 2 } })).toThrow(expect.objectContaining({ code: 'NECTAR_INVALID_CONFIG', message: expect.stringContaining('maxPerHsot is not a host limit') }));
    expect(make({ 'a.example': { hostRate: 0 } })).toThrow(expect.objectContaining({ code: 'NECTAR_INVALID_CONFIG', message: expect.stringContaining('hostRate must be a number of requests per second') }));
    expect(make({ 'a.example': { maxPerHost: 1.5 } })).toThrow(expect.objectContaining({ code: 'NECTAR_INVALID_CONFIG' }));

    const admin = new QueueAdmin({ redis: redis.url, cluster: clusterName('bad-admin') });
    try {
      await expect(admin.setLimits('a.example', { maxSpeedPerHost: 1000 } as never)).rejects.toMatchObject({ code: 'NECTAR_NOT_SUPPORTED' });
      await expect(admin.setLimits('a.example', { hostRate: -1 })).rejects.toMatchObject({ code: 'NECTAR_INVALID_CONFIG' });
      expect(await admin.listLimits()).toEqual({});
    } finally {
      await admin.close();
    }

    const d = producer(redis.url, clusterName('set-limits'));
    try {
      expect(() => d.setLimits({ hostRate: 1 })).toThrow(expect.objectContaining({ code: 'NECTAR_NOT_SUPPORTED', message: expect.stringContaining('QueueAdmin.setLimits') }));
    } finally {
      await d.close();
    }
  });
});
