import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadRequest } from '@nectar/core';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName, queueCli } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { type Origin, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { runProducerProcess, startWorker, type WorkerProcess } from './support/workers.js';

describe.runIf(redisAvailable)('an operator\'s drain and limits stick against producers still running', () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];
  const cli = async (...argv: string[]) => {
    const lines: string[] = [];
    const { status } = await queueCli([...argv, '--redis', redis.url], (l) => lines.push(l));
    return { status, text: lines.join('\n') };
  };
  const hostQueue = (cluster: string) => {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, origin.host), { connection });
    const close = async () => {
      await queue.close();
      connection.disconnect();
    };
    return { queue, close };
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

  it('drain: the producer of a drained run adds nothing again and fails what it had left, coded; a later run is untouched', async () => {
    const cluster = clusterName('drain');
    await cli('pause', '--cluster', cluster);
    workers.push(await startWorker(redis.url, cluster, 'd1', ['--no-fsync', '-j', '4']));
    const { queue, close } = hostQueue(cluster);
    // 30 requests: 10 wait in Redis (maxWaiting), 20 in the producer's outbox.
    const names = Array.from({ length: 30 }, (_, i) => `drain-${i}`);
    const child = runProducerProcess({
      redis: redis.url,
      cluster,
      urls: names.map((n) => origin.url(n)),
      destinations: names.map((n) => join(folder.path, n)),
      options: { maxWaiting: 10, batchSize: 1 },
    });
    await until('10 jobs wait', async () => (await queue.getWaitingCount()) === 10);
    expect((await cli('drain', origin.host, '--cluster', cluster)).status).toBe(0);
    // The producer polls every 250 ms: long enough for it to have added its jobs again (it did
    // before drains stuck) and to fill the room the drain made with its outbox.
    await sleep(1500);
    expect(await queue.getWaitingCount()).toBe(0);
    await cli('resume', '--cluster', cluster);
    const { events, code } = await child;
    const settled = events.filter((e) => e.event === 'settled');
    expect(code).toBe(0);
    expect(settled).toHaveLength(30);
    expect(settled.every((e) => e.state === 'failed' && e.code === 'NECTAR_CANCELED' && e.drained === true)).toBe(true);
    expect(origin.hits).toEqual([]);
    const run = settled[0]?.run as string;
    const status = JSON.parse((await cli('status', run, '--cluster', cluster, '--json')).text);
    expect(status).toMatchObject({ failed: 30, canceled: 0, succeeded: 0 });
    expect(status.failedItems[0]).toMatchObject({ code: 'NECTAR_CANCELED', message: expect.stringContaining('drain') });

    // The drain marked the runs it drained, not the host: a new run of the same requests runs.
    const later = producer(redis.url, cluster);
    const reports = await later.download(names.slice(0, 3).map((n) => new DownloadRequest(origin.url(n), join(folder.path, n))));
    await later.close();
    await close();
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(origin.hits).toHaveLength(3);
  }, 90_000);

  it('limits set wins over a producer\'s limits, on its reconnect and in a new producer, until limits clear', async () => {
    const cluster = clusterName('operator-limits');
    const host = origin.host;
    const listed = async () => JSON.parse((await cli('limits', '--cluster', cluster, '--json')).text) as Record<string, unknown>;
    const first = producer(redis.url, cluster, { hosts: { [host]: { maxPerHost: 4 } } });
    // No worker yet: the request waits, the producer has registered the host and its limits.
    const waiting = first.download([new DownloadRequest(origin.url('ol-0', { ms: 300 }), join(folder.path, 'ol-0'))]);
    await until('the producer stored its limits', async () => (await listed())[host] !== undefined);
    expect(await listed()).toEqual({ [host]: { maxPerHost: 4 } });

    expect((await cli('limits', 'set', host, '--max-per-host', '1', '--cluster', cluster)).status).toBe(0);
    expect((await cli('limits', '--cluster', cluster)).text).toBe(`${host}: 1 at once (set by an operator)`);
    // The producer reconnects (as after a network blip): it registers its hosts and limits again.
    const admin = new Redis(redis.url);
    await admin.client('KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    await sleep(1500);
    admin.disconnect();
    expect(await listed()).toEqual({ [host]: { maxPerHost: 1 } });
    // A producer that starts now, with other limits, does not replace them either.
    const second = producer(redis.url, cluster, { hosts: { [host]: { maxPerHost: 6 } } });
    const more = second.download(Array.from({ length: 5 }, (_, i) => new DownloadRequest(origin.url(`ol-${i + 1}`, { ms: 300 }), join(folder.path, `ol-${i + 1}`))));
    await until('6 jobs wait', async () => {
      const { queue, close } = hostQueue(cluster);
      const n = await queue.getWaitingCount();
      await close();
      return n === 6;
    });
    expect(await listed()).toEqual({ [host]: { maxPerHost: 1 } });
    // And workers obey the operator's: 8 slots free, one request at a time at the origin.
    workers.push(await startWorker(redis.url, cluster, 'ol', ['--no-fsync', '-j', '8']));
    expect([...(await waiting), ...(await more)].every((r) => r.state === 'succeeded')).toBe(true);
    expect(origin.hits).toHaveLength(6);
    expect(origin.peakInFlight).toBe(1);
    await Promise.all([first.close(), second.close()]);

    // Cleared: the next producer to register the host stores its own again.
    await cli('limits', 'clear', host, '--cluster', cluster);
    expect(await listed()).toEqual({});
    const third = producer(redis.url, cluster, { hosts: { [host]: { maxPerHost: 2 } } });
    await third.download([new DownloadRequest(origin.url('ol-last'), join(folder.path, 'ol-last'))]);
    await third.close();
    expect(await listed()).toEqual({ [host]: { maxPerHost: 2 } });
  }, 90_000);
});
