import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadRequest } from '@nectar/core';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { type Origin, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { runProducerProcess, startWorker, type WorkerProcess } from './support/workers.js';

describe.runIf(redisAvailable)('a Redis without persistence, and a producer that stops', () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    origin = await startOrigin();
    redis = await redisServer({ persistent: false });
    folder = await tempFolder();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await redis?.stop();
    await origin?.stop();
    await folder?.remove();
  });

  it('completes a run across a restart that loses everything, and the host limit still holds afterwards', async () => {
    const cluster = clusterName('amnesia');
    for (const id of ['m1', 'm2', 'm3']) workers.push(await startWorker(redis.url, cluster, id, ['--no-fsync', '-j', '4']));
    expect(workers[0]?.output()).toContain('Redis has no persistence');
    const names = Array.from({ length: 60 }, (_, i) => `amnesia-${i}`);
    const d = producer(redis.url, cluster, { hosts: { [origin.host]: { maxPerHost: 2 } } });
    let settled = 0;
    const run = (async () => {
      const reports = [];
      for await (const report of d.stream(names.map((n) => new DownloadRequest(origin.url(n, { ms: 150 }), join(folder.path, n))))) {
        settled++;
        reports.push(report);
      }
      return reports;
    })();
    await until('a quarter settled', () => settled >= 15, 30_000);
    await redis.restart({ downMs: 300 });
    origin.reset();
    const reports = await run;
    await d.close();
    expect(reports.filter((r) => r.state !== 'succeeded').map((r) => r.errorReport)).toEqual([]);
    for (const n of names) expect(await readFile(join(folder.path, n))).toEqual(origin.body(n, 100));
    // The producer registered the host and its limit again: 12 worker slots, 2 at once at the origin
    // among the requests admitted after the restart. A transfer a worker began before it runs to its
    // end, and Redis forgot its slot: on a loaded machine it can still be at the origin beside them
    // (seen in CI: 3), which the README says.
    expect(origin.hits.length).toBeGreaterThan(0);
    expect(origin.peakInFlightSinceReset).toBeLessThanOrEqual(2);
  }, 90_000);

  it('workers find host queues from BullMQ\'s own keys when the registry is gone', async () => {
    const cluster = clusterName('registry');
    const d = producer(redis.url, cluster);
    const run = d.download([new DownloadRequest(origin.url('found'), join(folder.path, 'found'))]);
    const client = new Redis(redis.url);
    await until('the host is registered', async () => (await client.scard(`bull:${cluster}:nectar:hosts`)) === 1);
    // What a restart without persistence does to the registry, while the job itself is back.
    await client.del(`bull:${cluster}:nectar:hosts`);
    client.disconnect();
    workers.push(await startWorker(redis.url, cluster, 'finder', ['--no-fsync']));
    const [report] = await run;
    await d.close();
    expect(report?.state).toBe('succeeded');
  }, 30_000);

  it('fails a run clearly, instead of hanging, when Redis stays away past its bound', async () => {
    const cluster = clusterName('gone');
    const d = producer(redis.url, cluster, { redisDownTimeout: 1500 });
    // No worker: the requests wait in Redis when it goes away for longer than the bound.
    const run = d.download(['g1', 'g2'].map((n) => new DownloadRequest(origin.url(n), join(folder.path, n))));
    await sleep(300);
    const began = Date.now();
    const restarting = redis.restart({ downMs: 5000 });
    const reports = await run;
    const tookMs = Date.now() - began;
    await restarting;
    await d.close();
    expect(reports.map((r) => r.state)).toEqual(['failed', 'failed']);
    expect(reports[0]?.errorReport).toMatchObject({ code: 'NECTAR_BACKEND', message: expect.stringContaining('Redis has been unreachable') });
    expect(tookMs).toBeLessThan(4500);
  }, 30_000);

  it('close() after a cancel settles in seconds with a full queue and no worker, and the process exits by itself', async () => {
    const cluster = clusterName('full');
    const names = Array.from({ length: 400 }, (_, i) => `full-${i}`);
    const { events, exitedAt, code } = await runProducerProcess({
      redis: redis.url,
      cluster,
      urls: names.map((n) => origin.url(n)),
      destinations: names.map((n) => join(folder.path, n)),
      options: { maxWaiting: 20, batchSize: 1 },
      cancelAfterMs: 1500,
    });
    const canceled = events.find((e) => e.event === 'canceled');
    const closed = events.find((e) => e.event === 'closed');
    expect(canceled).toBeDefined();
    expect(closed?.ms).toBeLessThan(5000);
    expect(code).toBe(0);
    // Nothing kept the event loop alive after close().
    expect(exitedAt - (canceled?.at as number)).toBeLessThan(8000);
    expect(events.filter((e) => e.event === 'settled').every((e) => e.state === 'canceled')).toBe(true);
  }, 30_000);
});
