import { execFile, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { DownloadRequest } from '@nectar/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName, queueCli, serveDashboard } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { type Origin, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer, serversRequired } from './support/redis.js';
import { clearSkip, recordSkip } from './support/skipped.js';
import { startWorker, type WorkerProcess } from './support/workers.js';

/** Debian's headless browser, for the dashboard check; missing, that one test says so and skips. */
const chromium = ['chromium', 'chromium-browser'].find((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);
if (chromium === undefined && redisAvailable) {
  if (serversRequired()) throw new Error('the dashboard test must run here, but chromium is not installed (apt-get install chromium)');
  process.stderr.write(`${recordSkip('@nectar/queue-dashboard', 'SKIPPED @nectar/queue: the dashboard test did not run: chromium is not installed (apt-get install chromium)')}\n`);
} else clearSkip('@nectar/queue-dashboard');

describe.runIf(redisAvailable)('operating a farm', () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];
  const cli = async (...argv: string[]) => {
    const lines: string[] = [];
    const { status } = await queueCli([...argv, '--redis', redis.url], (l) => lines.push(l));
    return { status, text: lines.join('\n') };
  };

  beforeAll(async () => {
    origin = await startOrigin();
    redis = await redisServer();
    folder = await tempFolder();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
    origin.reset();
  });
  afterAll(async () => {
    await redis?.stop();
    await origin?.stop();
    await folder?.remove();
  });

  it('keeps a worker to a few Redis connections with 200 hosts', async () => {
    const cluster = clusterName('wide');
    const origins = await Promise.all(Array.from({ length: 200 }, () => startOrigin()));
    try {
      const worker = await startWorker(redis.url, cluster, 'wide', ['--no-fsync', '-j', '8']);
      workers.push(worker);
      const d = producer(redis.url, cluster);
      const reports = await d.download(origins.map((o, i) => new DownloadRequest(o.url(`h${i}`), join(folder.path, `wide-${i}`))));
      const clients = await clientNames(redis.url);
      await d.close();
      expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
      const mine = clients.filter((name) => name === 'nectar-worker:wide');
      // Main connection and its pub/sub subscriber; no connection per host queue.
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.length).toBeLessThanOrEqual(4);
      console.log(`200 hosts: the worker holds ${mine.length} Redis connections; all clients: ${clients.length}`);
    } finally {
      await Promise.all(origins.map((o) => o.stop()));
    }
  }, 120_000);

  it('bounds what Redis keeps by counts, not by throughput: finished jobs, events, dedup records', async () => {
    const cluster = clusterName('bounded');
    workers.push(await startWorker(redis.url, cluster, 'k1', ['--no-fsync', '--stored-count', '100']));
    const d = producer(redis.url, cluster, { keepCompleted: { age: 600, count: 20 }, maxEvents: 50, batchSize: 1 });
    const reports = await d.download(Array.from({ length: 300 }, (_, i) => new DownloadRequest(origin.url(`b-${i}`), join(folder.path, `b-${i}`))));
    await d.close();
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    const client = new Redis(redis.url);
    const queueKey = `bull:${hostQueueName({ prefix: 'bull', cluster }, origin.host)}`;
    try {
      // BullMQ trims as jobs finish; our dedup records are trimmed every 64 writes.
      expect(await client.zcard(`${queueKey}:completed`)).toBeLessThanOrEqual(20);
      expect(await client.xlen(`${queueKey}:events`)).toBeLessThanOrEqual(80);
      expect(await client.hlen(`bull:${cluster}:nectar:stored`)).toBeLessThanOrEqual(100 + 64);
      expect((await client.keys(`bull:${cluster}*`)).length).toBeLessThan(100);
    } finally {
      client.disconnect();
    }
  }, 60_000);

  it('keeps a run as a durable entity: `nectar queue status RUN` after the producer is gone', async () => {
    const cluster = clusterName('status');
    workers.push(await startWorker(redis.url, cluster, 's1', ['--no-fsync']));
    const d = producer(redis.url, cluster);
    const reports = await d.download([
      ...['a', 'b', 'c'].map((n) => new DownloadRequest(origin.url(`st-${n}`), join(folder.path, `st-${n}`))),
      new DownloadRequest(origin.url('st-missing', { fail: 1, status: 404 }), join(folder.path, 'st-missing')),
    ]);
    await d.close();
    const run = reports[0]?.run as string;
    expect(reports.map((r) => r.run)).toEqual(reports.map(() => run));
    const { status, text } = await cli('status', run, '--cluster', cluster, '--json');
    const parsed = JSON.parse(text);
    expect(parsed).toMatchObject({ run, state: 'closed', enqueued: 4, succeeded: 3, failed: 1, canceled: 0 });
    expect(parsed.failedItems).toEqual([expect.objectContaining({ url: origin.url('st-missing', { fail: 1, status: 404 }), code: 'NECTAR_HTTP_STATUS' })]);
    expect(status).toBe(1);
    expect((await cli('status', 'no-such-run', '--cluster', cluster)).status).toBe(1);
    expect((await cli('runs', '--cluster', cluster, '--json')).text).toContain(run);
  }, 30_000);

  it('pauses and resumes a host, changes, lists and clears its limits, drains it', async () => {
    const cluster = clusterName('steer');
    workers.push(await startWorker(redis.url, cluster, 'p1', ['--no-fsync']));
    const host = origin.host;
    // The queue exists once something was enqueued to it.
    const warm = producer(redis.url, cluster);
    await warm.download([new DownloadRequest(origin.url('warm'), join(folder.path, 'warm'))]);
    await warm.close();
    expect((await cli('pause', host, '--cluster', cluster)).text).toContain(hostQueueName({ prefix: 'bull', cluster }, host));
    origin.reset();
    const d = producer(redis.url, cluster);
    const run = d.download(['x', 'y'].map((n) => new DownloadRequest(origin.url(`paused-${n}`), join(folder.path, `paused-${n}`))));
    await sleep(1500);
    expect(origin.hits).toEqual([]);
    const hosts = JSON.parse((await cli('hosts', '--cluster', cluster, '--json')).text);
    expect(hosts).toEqual([expect.objectContaining({ paused: true, waiting: 2 })]);
    await cli('resume', host, '--cluster', cluster);
    expect((await run).every((r) => r.state === 'succeeded')).toBe(true);
    await d.close();

    expect((await cli('limits', 'set', host, '--max-per-host', '2', '--host-rate', '4', '--cluster', cluster)).status).toBe(0);
    expect(JSON.parse((await cli('limits', '--cluster', cluster, '--json')).text)).toEqual({ [host]: { maxPerHost: 2, hostRate: 4 } });
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, host), { connection });
    expect(await queue.getGlobalConcurrency()).toBe(2);
    await cli('limits', 'clear', host, '--cluster', cluster);
    expect(JSON.parse((await cli('limits', '--cluster', cluster, '--json')).text)).toEqual({});
    expect(await queue.getGlobalConcurrency()).toBeNull();

    await cli('pause', '--cluster', cluster);
    const waiting = producer(redis.url, cluster, { cancelGrace: 500 });
    const drained = waiting.download([new DownloadRequest(origin.url('drained'), join(folder.path, 'drained'))]);
    await until('the job waits', async () => (await queue.getWaitingCount()) === 1);
    await cli('drain', host, '--cluster', cluster);
    expect(await queue.getWaitingCount()).toBe(0);
    // The drain sticks: the producer fails the request instead of adding it again (operator.test.ts).
    const [report] = await drained;
    expect(report?.state).toBe('failed');
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_CANCELED', drained: true });
    expect(await queue.getWaitingCount()).toBe(0);
    await waiting.close();
    await cli('resume', '--cluster', cluster);
    await queue.close();
    connection.disconnect();

    // A farm-wide pause holds for a host no queue existed for when it was set.
    await cli('pause', '--cluster', cluster);
    const fresh = await startOrigin();
    const later = producer(redis.url, cluster);
    const freshRun = later.download([new DownloadRequest(fresh.url('new-host'), join(folder.path, 'new-host'))]);
    await sleep(1500);
    expect(fresh.hits).toEqual([]);
    await cli('resume', '--cluster', cluster);
    expect((await freshRun)[0]?.state).toBe('succeeded');
    await later.close();
    await fresh.stop();
    const errors: string[] = [];
    expect((await queueCli(['frobnicate', '--redis', redis.url], () => {}, (l) => errors.push(l))).status).toBe(2);
    expect(errors.join('\n')).toContain('unknown command');
  }, 60_000);

  it('runs higher-priority requests first', async () => {
    const cluster = clusterName('priority');
    // No worker yet: everything waits, then one worker with one slot takes them in priority order.
    await cli('pause', origin.host, '--cluster', cluster);
    const names = ['low-1', 'low-2', 'low-3', 'high-1', 'high-2'];
    const d = producer(redis.url, cluster, { priority: (r) => (r.url.includes('high') ? 1 : 10) });
    const run = d.download(names.map((n) => new DownloadRequest(origin.url(n), join(folder.path, n))));
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, origin.host), { connection });
    await until('all wait', async () => Object.values(await queue.getJobCounts('prioritized', 'waiting')).reduce((a, b) => a + b, 0) === 5);
    await queue.close();
    connection.disconnect();
    origin.reset();
    workers.push(await startWorker(redis.url, cluster, 'prio', ['--no-fsync', '-j', '1']));
    await cli('resume', origin.host, '--cluster', cluster);
    expect((await run).every((r) => r.state === 'succeeded')).toBe(true);
    await d.close();
    expect(origin.hits.map((h) => h.path.slice(3)).slice(0, 2).sort()).toEqual(['high-1', 'high-2']);
  }, 60_000);

  it('serves Prometheus metrics from a worker', async () => {
    const cluster = clusterName('metrics');
    const worker = await startWorker(redis.url, cluster, 'metered', ['--no-fsync', '--metrics-port', '0']);
    workers.push(worker);
    const d = producer(redis.url, cluster, {}, undefined, { retries: 0 });
    await d.download([
      new DownloadRequest(origin.url('m-ok', { size: 1234 }), join(folder.path, 'm-ok')),
      new DownloadRequest(origin.url('m-missing', { fail: 1, status: 404 }), join(folder.path, 'm-missing')),
    ]);
    await d.close();
    const text = await (await fetch(`http://127.0.0.1:${worker.metricsPort}/metrics`)).text();
    expect(text).toMatch(/nectar_worker_downloads_total\{state="succeeded",worker="metered"\} 1/);
    expect(text).toMatch(/nectar_worker_failures_total\{code="NECTAR_HTTP_STATUS",worker="metered"\} 1/);
    expect(text).toMatch(/nectar_worker_bytes_total\{worker="metered"\} 1234/);
    expect(text).toContain(`nectar_worker_host_requests_total{host="${origin.host}",worker="metered"} 2`);
    expect(text).toContain(`nectar_worker_host_in_flight{host="${origin.host}",worker="metered"} 0`);
  }, 30_000);

  it.runIf(chromium !== undefined)('serves bull-board on 127.0.0.1: headless Chromium sees the queues and a failed job', async () => {
    const cluster = clusterName('board');
    workers.push(await startWorker(redis.url, cluster, 'b1', ['--no-fsync']));
    const d = producer(redis.url, cluster);
    await d.download([new DownloadRequest(origin.url('board'), join(folder.path, 'board'))]);
    await d.close();
    // Job data that is not ours fails in BullMQ itself: a failed job for the board to show.
    const name = hostQueueName({ prefix: 'bull', cluster }, origin.host);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection });
    await queue.add('foreign', { not: 'nectar' }, { jobId: 'foreign-job' });
    await until('the foreign job failed', async () => (await queue.getJobState('foreign-job')) === 'failed');
    await queue.close();
    connection.disconnect();
    const board = await serveDashboard({ redis: redis.url, cluster, port: 0 });
    try {
      expect(board.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const home = await render(chromium as string, board.url);
      expect(home).toContain(name);
      const failed = await render(chromium as string, `${board.url}queue/${encodeURIComponent(name)}?status=failed`);
      expect(failed).toContain('foreign-job');
      expect(failed).toContain('does not hold nectar requests');
    } finally {
      await board.close();
    }
  }, 60_000);
});

/** The DOM after scripts ran, as headless Chromium dumps it (async: this process serves the page). */
async function render(browser: string, url: string): Promise<string> {
  const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--virtual-time-budget=8000', '--dump-dom', url];
  const { stdout } = await promisify(execFile)(browser, args, { encoding: 'utf8', timeout: 40_000, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/** The names of the clients connected to a Redis (CLIENT LIST). */
async function clientNames(url: string): Promise<string[]> {
  const client = new Redis(url);
  try {
    const list = (await client.client('LIST')) as string;
    return list.split('\n').filter(Boolean).map((line) => /(?:^| )name=(\S*)/.exec(line)?.[1] ?? '');
  } finally {
    client.disconnect();
  }
}
