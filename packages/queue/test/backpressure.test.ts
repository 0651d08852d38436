import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DownloadRequest } from '@nectar/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder } from './support/farm.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { startWorker, type WorkerProcess } from './support/workers.js';

/** The bench runs this path with 1,000,000 requests; CI with 20,000. */
const COUNT = 20_000;

describe.runIf(redisAvailable)('backpressure', () => {
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const cluster = clusterName('pressure');
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    redis = await redisServer();
    folder = await tempFolder();
    for (const id of ['b1', 'b2']) workers.push(await startWorker(redis.url, cluster, id, ['--max-concurrent', '16', '--no-fsync']));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    await folder?.remove();
  });

  it(`streams ${COUNT.toLocaleString('en')} requests from a generator, in batches, never holding more than the bounds`, async () => {
    const source = join(folder.path, 'tiny.txt');
    await writeFile(source, 'sixteen bytes!!\n');
    for (let i = 0; i < 100; i++) await mkdir(join(folder.path, String(i)));
    const maxInFlight = 2000;
    const maxWaiting = 20;
    let pulled = 0;
    let settled = 0;
    let worstLead = 0;
    function* requests() {
      for (let i = 0; i < COUNT; i++) {
        pulled++;
        worstLead = Math.max(worstLead, pulled - settled);
        yield new DownloadRequest(pathToFileURL(source), join(folder.path, String(i % 100), `f${i}`), { expectedSize: 16 });
      }
    }
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, 'file-local'), { connection });
    let worstWaiting = 0;
    const sampler = setInterval(() => void queue.getWaitingCount().then((n) => (worstWaiting = Math.max(worstWaiting, n))), 20);
    const countSettled = () => void settled++;
    const d = producer(redis.url, cluster, { maxInFlight, maxWaiting, batchSize: 32 }, { downloadSucceeded: countSettled, downloadFailed: countSettled, downloadCanceled: countSettled });
    let yielded = 0;
    const jobs = new Set<string>();
    let failed = 0;
    for await (const report of d.stream(requests())) {
      yielded++;
      if (report.jobId !== null) jobs.add(report.jobId);
      if (report.state !== 'succeeded') failed++;
    }
    clearInterval(sampler);
    await d.close();
    await queue.close();
    connection.disconnect();
    expect(yielded).toBe(COUNT);
    expect(failed).toBe(0);
    expect(worstLead).toBeLessThanOrEqual(maxInFlight);
    // Jobs are added in bulk after a count, so the bound may be passed by one bulk at most.
    expect(worstWaiting).toBeLessThanOrEqual(maxWaiting + 100);
    expect(jobs.size).toBeLessThan(COUNT / 8);
  }, 180_000);
});
