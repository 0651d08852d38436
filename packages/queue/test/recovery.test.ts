import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
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
import { startOrigin } from './support/origin.js';
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

  it('redelivers the job of a SIGKILLed worker within ~30 s at default lock settings, and removes its stage files at once', async () => {
    const cluster = clusterName('kill');
    const body = randomBytes(600_000);
    const url = `${await http.publish('kill.bin', body)}?rate=200000`;
    const dest = join(folder.path, 'kill.bin');
    // The default lock (20 s) and stall check (5 s): only discovery and progress are sped up.
    const defaults = ['--lock-duration', '20', '--stalled-interval', '5'];
    const first = await startWorker(redis.url, cluster, 'doomed', defaults);
    workers.push(first);
    let killedAt = 0;
    const d = producer(redis.url, cluster, {}, {
      downloadProgress(r) {
        if (killedAt === 0 && r.bytesDownloaded > 100_000) {
          killedAt = Date.now();
          first.signal('SIGKILL');
          // The survivor starts only now, so the job cannot have gone to it first.
          void startWorker(redis.url, cluster, 'survivor', defaults).then((w) => workers.push(w));
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
    // Lock expiry (20 s) + at most two stall checks (10 s) + the 3 s copy.
    expect(recoveredMs).toBeLessThan(36_000);
    // The dead worker's stage went when the job was redelivered: no sweep, no later worker needed.
    expect((await readdir(folder.path)).filter((f) => f.includes('kill.bin'))).toEqual(['kill.bin']);
    console.log(`recovery after SIGKILL at default settings: ${recoveredMs} ms`);
  }, 60_000);

  it('removes the stage files of a killed worker when the run ends, though no worker took the job again', async () => {
    const cluster = clusterName('orphan');
    const body = randomBytes(400_000);
    const url = `${await http.publish('orphan.bin', body)}?rate=100000`;
    const dest = join(folder.path, 'orphan.bin');
    const doomed = await startWorker(redis.url, cluster, 'orphaner');
    workers.push(doomed);
    let killed = false;
    const d = producer(redis.url, cluster, {}, {
      downloadProgress(r) {
        if (!killed && r.bytesDownloaded > 50_000) {
          killed = true;
          doomed.signal('SIGKILL');
        }
      },
    });
    const run = d.download([new DownloadRequest(url, dest)]);
    await until('the worker was killed', () => killed);
    await until('a stage file is left', async () => (await readdir(folder.path)).some((f) => f.includes('orphan.bin')));
    // Its lock expires (2 s) and the job waits again; the caller gives up.
    await sleep(3500);
    d.cancel();
    const [report] = await run;
    await d.close();
    expect(report?.state).toBe('canceled');
    expect((await readdir(folder.path)).filter((f) => f.includes('orphan.bin'))).toEqual([]);
  }, 30_000);

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
    const delivered = await stat(dest);
    frozen.signal('SIGCONT');
    // Give the resumed worker time to finish its own copy and try to commit it.
    await sleep(4000);
    await d.close();
    expect(completions).toEqual([report?.jobId]);
    expect((await readFile(dest)).equals(body)).toBe(true);
    // Fencing: the resumed worker found it no longer held the job and never renamed over the file.
    const after = await stat(dest);
    expect([after.ino, after.mtimeMs]).toEqual([delivered.ino, delivered.mtimeMs]);
    expect((await readdir(folder.path)).filter((f) => f.includes('stop.bin'))).toEqual(['stop.bin']);
    await events.close();
    connection.disconnect();
  });

  it('fences a worker frozen between its last byte and its rename: it never overwrites the delivered file', async () => {
    const cluster = clusterName('fence');
    const origin = await startOrigin();
    const dest = join(folder.path, 'fence.bin');
    const frozen = await startWorker(redis.url, cluster, 'fenced');
    workers.push(frozen);
    let stopped = false;
    // The frozen worker has every byte; the body's end reaches it only after it is thawed.
    origin.onHeld = () => {
      stopped = true;
      frozen.signal('SIGSTOP');
      void startWorker(redis.url, cluster, 'taker').then((w) => workers.push(w));
    };
    const d = producer(redis.url, cluster);
    const [report] = await d.download([new DownloadRequest(origin.url('fence.bin', { size: 200_000, hold: 300 }), dest)]);
    expect(stopped).toBe(true);
    expect(report?.state).toBe('succeeded');
    expect(report?.storedAt?.worker).toBe('taker');
    const delivered = await stat(dest);
    frozen.signal('SIGCONT');
    await sleep(3000);
    await d.close();
    await origin.stop();
    const after = await stat(dest);
    expect([after.ino, after.mtimeMs]).toEqual([delivered.ino, delivered.mtimeMs]);
    expect(await readFile(dest)).toEqual(origin.body('fence.bin', 200_000));
    expect((await readdir(folder.path)).filter((f) => f.includes('fence.bin'))).toEqual(['fence.bin']);
  }, 30_000);

  it('loses nothing when a persistent Redis is killed and restarted mid-run', async () => {
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
