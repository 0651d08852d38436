import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadRequest } from '@nectar/core';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName, jobIdOf } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { type Origin, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { runProducerProcess, startWorker, type WorkerProcess } from './support/workers.js';

describe.runIf(redisAvailable)('dedup never lies', () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    origin = await startOrigin();
    redis = await redisServer();
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

  const hitsOf = (prefix: string) => origin.hits.filter((h) => h.path.startsWith(`/f/${prefix}`)).length;

  it('re-runs of batched small files download nothing twice, and a deleted or changed file again', async () => {
    const cluster = clusterName('dedup');
    workers.push(await startWorker(redis.url, cluster, 'd1', ['--no-fsync']), await startWorker(redis.url, cluster, 'd2', ['--no-fsync']));
    const names = Array.from({ length: 300 }, (_, i) => `small-${i}`);
    // expectedSize makes them small requests that share jobs; arrival timing forms the batches.
    const requests = () => names.map((n, i) => new DownloadRequest(origin.url(n, { size: 500 + i }), join(folder.path, n), { expectedSize: 500 + i }));
    const first = producer(redis.url, cluster);
    expect((await first.download(requests())).every((r) => r.state === 'succeeded')).toBe(true);
    await first.close();
    expect(hitsOf('small-')).toBe(300);

    const again = producer(redis.url, cluster, { batchDelay: 5 });
    const second = await again.download(requests());
    await again.close();
    expect(second.every((r) => r.state === 'succeeded' && r.alreadyPresent)).toBe(true);
    expect(hitsOf('small-')).toBe(300);

    // Deleted and changed behind the farm's back: downloaded again, never reported present.
    const deleted = names.slice(0, 10);
    for (const n of deleted) await rm(join(folder.path, n));
    await writeFile(join(folder.path, 'small-20'), Buffer.alloc(520, 'x'));
    const third = producer(redis.url, cluster);
    const reports = await third.download(requests());
    await third.close();
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(reports.filter((r) => !r.alreadyPresent).map((r) => String(r.destination)).sort()).toEqual([...deleted, 'small-20'].map((n) => join(folder.path, n)).sort());
    for (const n of [...deleted, 'small-20']) expect(await readFile(join(folder.path, n))).toEqual(origin.body(n, 500 + names.indexOf(n)));
    expect(hitsOf('small-')).toBe(311);
  }, 60_000);

  it('never adopts a canceled run: after a Ctrl-C the next run gets no cancel it did not ask for, and every file', async () => {
    const cluster = clusterName('adopt');
    workers.push(await startWorker(redis.url, cluster, 'a1', ['--no-fsync', '-j', '4']));
    const names = Array.from({ length: 30 }, (_, i) => `slow-${i}`);
    const urls = names.map((n) => origin.url(n, { ms: 300 }));
    const destinations = names.map((n) => join(folder.path, n));
    // Ctrl-C: cancel, then the process is gone before it reads (or removes) its canceled jobs.
    const interrupted = await runProducerProcess({ redis: redis.url, cluster, urls, destinations, cancelAfterSettled: 4, exitAfterCancelMs: 50 });
    expect(interrupted.code).toBe(130);
    const next = producer(redis.url, cluster);
    const reports = await next.download(urls.map((url, i) => new DownloadRequest(url, destinations[i] as string)));
    await next.close();
    expect(reports.map((r) => r.state)).toEqual(names.map(() => 'succeeded'));
    for (const n of names) expect((await readFile(join(folder.path, n))).length).toBe(100);
  }, 60_000);

  it('never adopts a job that failed in the queue for another run', async () => {
    const cluster = clusterName('failed');
    const url = origin.url('adopt-failed');
    const destination = join(folder.path, 'adopt-failed');
    // Another run's job for the same request, failed for good (its worker crashed each time).
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const name = hostQueueName({ prefix: 'bull', cluster }, origin.host);
    const queue = new Queue(name, { connection });
    const requests = [{ url, destination }];
    await queue.add('download', { v: 1, run: 'an-earlier-run', profile: {}, requests }, { jobId: jobIdOf(requests), attempts: 1 });
    const crashed = new Worker(name, null, { connection, autorun: false });
    const job = await crashed.getNextJob('token');
    await job?.moveToFailed(new Error('worker crashed'), 'token', false);
    expect(await queue.getJobState(jobIdOf(requests))).toBe('failed');
    await crashed.close();
    await queue.close();
    connection.disconnect();
    workers.push(await startWorker(redis.url, cluster, 'f1', ['--no-fsync']));
    const d = producer(redis.url, cluster);
    const [report] = await d.download([new DownloadRequest(url, destination)]);
    await d.close();
    expect(report?.state).toBe('succeeded');
    expect(await readFile(destination)).toEqual(origin.body('adopt-failed', 100));
  }, 30_000);

  it("one producer's cancel never cancels another producer's requests for the same files, waiting or running", async () => {
    const cluster = clusterName('cross');
    workers.push(await startWorker(redis.url, cluster, 'x1', ['--no-fsync', '-j', '3']));
    const names = Array.from({ length: 12 }, (_, i) => `shared-${i}`);
    const requests = () => names.map((n) => new DownloadRequest(origin.url(n, { ms: 400 }), join(folder.path, n)));
    let started = 0;
    const a = producer(redis.url, cluster, {}, { downloadStarted: () => void started++ });
    const b = producer(redis.url, cluster);
    const aRun = a.download(requests());
    await sleep(100);
    // The same requests: B's jobs are A's jobs, some running on the worker, the rest waiting.
    const bRun = b.download(requests());
    await until('some of A running', () => started >= 2);
    a.cancel();
    const aReports = await aRun;
    expect(aReports.some((r) => r.state === 'canceled')).toBe(true);
    const bReports = await bRun;
    await Promise.all([a.close(), b.close()]);
    expect(bReports.map((r) => r.state)).toEqual(names.map(() => 'succeeded'));
    for (const n of names) expect(await readFile(join(folder.path, n))).toEqual(origin.body(n, 100));
  }, 60_000);
});
