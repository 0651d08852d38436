import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { httpFixture } from '@nectar/conformance';
import { DownloadRequest } from '@nectar/core';
import { QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { startWorker, type WorkerProcess } from './support/workers.js';

describe.runIf(redisAvailable)('recovery', () => {
  const http = httpFixture();
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    await http.start();
    redis = await redisServer({ persistent: true });
    folder = await tempFolder();
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await redis?.stop();
    await http.stop();
    await folder?.remove();
  });

  it('redelivers the job of a SIGKILLed worker; the file is correct and the killed worker\'s temp is swept', async () => {
    const cluster = clusterName('kill');
    const body = randomBytes(600_000);
    const url = `${await http.publish('kill.bin', body)}?rate=200000`;
    const dest = join(folder.path, 'kill.bin');
    const first = await startWorker(redis.url, cluster, 'doomed');
    workers.push(first);
    let killedAt = 0;
    const d = producer(redis.url, cluster, {}, {
      downloadProgress(r) {
        if (killedAt === 0 && r.bytesDownloaded > 100_000) {
          killedAt = Date.now();
          first.signal('SIGKILL');
          // The survivor starts only now, so the job cannot have gone to it first.
          void startWorker(redis.url, cluster, 'survivor').then((w) => workers.push(w));
        }
      },
    });
    const [report] = await d.download([new DownloadRequest(url, dest)]);
    const recoveredMs = Date.now() - killedAt;
    await d.close();
    expect(killedAt).toBeGreaterThan(0);
    expect(report?.state).toBe('succeeded');
    expect(report?.storedAt?.worker).toBe('survivor');
    expect((await readFile(dest)).equals(body)).toBe(true);
    const leftovers = (await readdir(folder.path)).filter((f) => f.includes('kill.bin') && f !== 'kill.bin');
    expect(leftovers.length).toBeGreaterThan(0);
    // A worker starting later sweeps what the dead one left (its heartbeat has expired).
    await sleep(1000);
    const sweeper = await startWorker(redis.url, cluster, 'sweeper', ['--sweep', folder.path, '--sweep-min-age', '0']);
    workers.push(sweeper);
    expect(sweeper.swept.length).toBe(leftovers.length);
    expect((await readdir(folder.path)).filter((f) => f.includes('kill.bin'))).toEqual(['kill.bin']);
    console.log(`recovery after SIGKILL: ${recoveredMs} ms (lock 2000 ms, stalled check 500 ms)`);
  });

  it('completes a job exactly once when a worker frozen past its lock resumes; the file stays intact', async () => {
    const cluster = clusterName('stop');
    const body = randomBytes(500_000);
    const url = `${await http.publish('stop.bin', body)}?rate=250000`;
    const dest = join(folder.path, 'stop.bin');
    const frozen = await startWorker(redis.url, cluster, 'frozen');
    workers.push(frozen);
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(hostQueueName({ prefix: 'bull', cluster }, new URL(url).host), { connection });
    const completions: string[] = [];
    events.on('completed', ({ jobId }) => completions.push(jobId));
    await events.waitUntilReady();
    let stoppedAt = 0;
    const d = producer(redis.url, cluster, {}, {
      downloadProgress(r) {
        if (stoppedAt === 0 && r.bytesDownloaded > 50_000) {
          stoppedAt = Date.now();
          frozen.signal('SIGSTOP');
          void startWorker(redis.url, cluster, 'thawed-out').then((w) => workers.push(w));
        }
      },
    });
    const [report] = await d.download([new DownloadRequest(url, dest)]);
    expect(report?.state).toBe('succeeded');
    expect(report?.storedAt?.worker).toBe('thawed-out');
    frozen.signal('SIGCONT');
    // Give the resumed worker time to finish its own copy and try to complete.
    await sleep(3000);
    await d.close();
    expect(completions).toEqual([report?.jobId]);
    expect((await readFile(dest)).equals(body)).toBe(true);
    await events.close();
    connection.disconnect();
  });

  it('loses nothing when Redis is killed and restarted mid-run', async () => {
    const cluster = clusterName('restart');
    const files = await Promise.all(Array.from({ length: 30 }, (_, i) => http.publish(`restart-${i}.bin`, randomBytes(20_000 + i))));
    workers.push(await startWorker(redis.url, cluster, 'r1'), await startWorker(redis.url, cluster, 'r2'));
    const d = producer(redis.url, cluster);
    let settled = 0;
    const run = (async () => {
      const reports = [];
      for await (const report of d.stream(files.map((url, i) => new DownloadRequest(`${url}?rate=40000`, join(folder.path, `restart-${i}.bin`))))) {
        settled++;
        reports.push(report);
      }
      return reports;
    })();
    await until('a third settled', () => settled >= 10, 30_000);
    await redis.restart({ downMs: 500 });
    const reports = await run;
    await d.close();
    expect(reports).toHaveLength(30);
    expect(reports.filter((r) => r.state !== 'succeeded').map((r) => r.errorReport)).toEqual([]);
    for (const [i] of files.entries()) expect((await readFile(join(folder.path, `restart-${i}.bin`))).length).toBe(20_000 + i);
  });
});
