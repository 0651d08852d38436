import { createHash, randomBytes as cryptoRandomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { type DownloadReport, DownloadRequest } from '@nectar/core';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UndiciDownloader } from '../src/index.js';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const server: HttpFixture = httpFixture();
const downloaders = new Downloaders();
let tmp: Scratch;

beforeAll(async () => {
  await server.start();
  tmp = await scratch();
});
afterAll(async () => {
  await server.stop();
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  server.reset();
});

/** A caller's writable that keeps what it gets. */
function collector(): Writable & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return Object.assign(stream, { bytes: () => Buffer.concat(chunks) });
}

/** Starts both workers before a rate is measured: their start-up is no part of it. */
async function startWorkers(downloader: UndiciDownloader): Promise<void> {
  const names = ['start-1.bin', 'start-2.bin'];
  const urls = await Promise.all(names.map(async (name) => {
    await server.publish(name, randomBytes(10));
    return server.slowUrl(name, 100);
  }));
  await downloader.download(urls.map((url, i) => new DownloadRequest(url, tmp.path(names[i] as string))));
}

async function timed(run: Promise<DownloadReport[]>): Promise<{ reports: DownloadReport[]; seconds: number }> {
  const started = performance.now();
  const reports = await run;
  return { reports, seconds: (performance.now() - started) / 1000 };
}

describe('config.threads', () => {
  it('runs in-process by default; workers only when asked for', () => {
    expect(new UndiciDownloader().threads).toBe(0);
    expect(new UndiciDownloader({ threads: 2 }).threads).toBe(2);
  });

  it.each([-1, 1.5, '2', Number.NaN])('refuses %s, naming the field', (threads) => {
    expect(() => new UndiciDownloader({ threads } as never)).toThrow(/config\.threads must be a non-negative integer/);
    expect(() => new UndiciDownloader({ segments: threads } as never)).toThrow(/config\.segments must be a positive integer/);
  });

  it('runs nothing in a worker with threads: 0', async () => {
    const url = await server.publish('zero.bin', randomBytes(1000));
    const downloader = downloaders.create({ threads: 0 });
    expect((await fetchOne(downloader, url, tmp.path('zero.bin'))).state).toBe('succeeded');
    expect(downloader.workerPool).toBeUndefined();
  });
});

describe('threaded transfers', () => {
  it('spread concurrent requests over the workers and write every file whole', async () => {
    const bodies = Array.from({ length: 8 }, (_, i) => randomBytes(100_000 + i));
    for (const [i, body] of bodies.entries()) await server.publish(`t${i}.bin`, body);
    const downloader = downloaders.create({ threads: 2, maxConcurrent: 4 });
    const reports = await downloader.download(bodies.map((_, i) => new DownloadRequest(server.slowUrl(`t${i}.bin`, 2_000_000), tmp.path(`t${i}.bin`))));
    expect(reports.map((r) => r.state)).toEqual(bodies.map(() => 'succeeded'));
    expect(downloader.workerPool?.workers).toHaveLength(2);
    for (const [i, body] of bodies.entries()) expect((await readFile(tmp.path(`t${i}.bin`))).equals(body)).toBe(true);
  });

  it('writes a stream destination from a worker, leaving the stream open', async () => {
    const body = randomBytes(3 * 1024 * 1024 + 5);
    const url = await server.publish('stream.bin', body);
    const destination = collector();
    const downloader = downloaders.create({ threads: 2 });
    const [report] = await downloader.download([new DownloadRequest(url, destination)]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(report?.bytesDownloaded).toBe(body.length);
    expect(destination.bytes().equals(body)).toBe(true);
    expect(destination.writableEnded).toBe(false);
  });

  it('settles a cancel promptly (well under a second)', async () => {
    await server.publish('cancel.bin', randomBytes(2_000_000));
    const downloader = downloaders.create({ threads: 2 }, {
      downloadProgress: (r) => {
        if (r.bytesDownloaded > 0 && canceledAt === 0) {
          canceledAt = performance.now();
          downloader.cancel();
        }
      },
    });
    let canceledAt = 0;
    const [report] = await downloader.download([new DownloadRequest(server.slowUrl('cancel.bin', 500_000), tmp.path('cancel.bin'))]);
    const latency = performance.now() - canceledAt;
    console.log(`threaded cancel settled in ${latency.toFixed(1)} ms`);
    expect(report?.state).toBe('canceled');
    expect(latency).toBeLessThan(1000);
    expect((await tmp.files()).filter((f) => f.includes('cancel.bin'))).toEqual([]);
  });

  it('holds maxSpeed across two workers, within 15%', async () => {
    const size = 512 * 1024;
    const names = ['m1.bin', 'm2.bin', 'm3.bin', 'm4.bin'];
    for (const name of names) await server.publish(name, randomBytes(size));
    const maxSpeed = 1024 * 1024;
    const downloader = downloaders.create({ threads: 2, maxConcurrent: 4, maxSpeed });
    // Start both workers first: their start-up is no part of the rate.
    const warmUp = ['w1.bin', 'w2.bin'];
    for (const name of warmUp) await server.publish(name, randomBytes(10));
    await downloader.download(warmUp.map((n) => new DownloadRequest(server.slowUrl(n, 100), tmp.path(n))));
    const started = performance.now();
    const reports = await downloader.download(names.map((n) => new DownloadRequest(server.url(`/files/${n}`), tmp.path(n))));
    const seconds = (performance.now() - started) / 1000;
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(downloader.workerPool?.workers).toHaveLength(2);
    // Two workers each with a budget of their own would take half the time. The conformance
    // suite's slack (0.3 s) covers timers that fire late on a loaded machine.
    const expected = (names.length * size) / maxSpeed;
    expect(seconds).toBeGreaterThan(expected * 0.85);
    expect(seconds).toBeLessThan(expected * 1.15 + 0.3);
  });

  it('holds maxSpeedPerHost across two workers, origin by origin, a redirect hop moving to its new origin\'s budget', async () => {
    const other = httpFixture();
    await other.start();
    try {
      const size = 768 * 1024;
      const maxSpeedPerHost = 1024 * 1024;
      const [direct, redirected, own] = await Promise.all([other.publish('d.bin', randomBytes(size)), other.publish('r.bin', randomBytes(size)), server.publish('own.bin', randomBytes(size))]);
      const downloader = downloaders.create({ threads: 2, maxConcurrent: 4, maxSpeedPerHost });
      await startWorkers(downloader);
      // Two files from the other origin (one reached through a redirect from this one) share its
      // budget; this origin's own file has a budget of its own.
      const [shared, alone] = await Promise.all([
        timed(downloader.download([new DownloadRequest(direct, tmp.path('d.bin')), new DownloadRequest(server.url(`/redirect?to=${encodeURIComponent(redirected)}`), tmp.path('r.bin'))])),
        timed(downloader.download([new DownloadRequest(own, tmp.path('own.bin'))])),
      ]);
      expect([...shared.reports, ...alone.reports].map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(downloader.workerPool?.workers).toHaveLength(2);
      expect(shared.seconds).toBeGreaterThan(((2 * size) / maxSpeedPerHost) * 0.9);
      expect(shared.seconds).toBeLessThan(((2 * size) / maxSpeedPerHost) * 1.1);
      // Limited, but by a budget of its own: under one budget for all three it would take 2.25 s.
      expect(alone.seconds).toBeGreaterThan((size / maxSpeedPerHost) * 0.9);
      expect(alone.seconds).toBeLessThan(1.2);
    } finally {
      await other.stop();
    }
  });

  it('holds a request to its own maxSpeed in a worker, leaving the request beside it free', async () => {
    const size = 1536 * 1024;
    const maxSpeed = 1024 * 1024;
    const [slowUrl, fastUrl] = await Promise.all([server.publish('own-slow.bin', randomBytes(size)), server.publish('own-fast.bin', randomBytes(size))]);
    const downloader = downloaders.create({ threads: 2, maxConcurrent: 4 });
    await startWorkers(downloader);
    const [slow, fast] = await Promise.all([
      timed(downloader.download([new DownloadRequest(slowUrl, tmp.path('own-slow.bin'), { maxSpeed })])),
      timed(downloader.download([new DownloadRequest(fastUrl, tmp.path('own-fast.bin'))])),
    ]);
    expect([...slow.reports, ...fast.reports].map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    expect(slow.seconds).toBeGreaterThan((size / maxSpeed) * 0.9);
    expect(slow.seconds).toBeLessThan((size / maxSpeed) * 1.1);
    expect(fast.seconds).toBeLessThan(0.5);
  });

  it('lifts maxSpeedPerHost with setLimits() in a worker mid-transfer, within a second', async () => {
    const url = await server.publish('lifted.bin', randomBytes(1024 * 1024));
    const downloader = downloaders.create({ threads: 2, maxSpeedPerHost: 256 * 1024 });
    await startWorkers(downloader);
    const run = timed(downloader.download([new DownloadRequest(url, tmp.path('lifted.bin'))]));
    await new Promise((resolve) => setTimeout(resolve, 300));
    downloader.setLimits({ maxSpeedPerHost: null });
    const { reports, seconds } = await run;
    expect(reports[0]?.state).toBe('succeeded');
    // Held until the change (unheld, 1 MiB takes a few ms); held at 256 KiB/s to the end, 4 s.
    expect(seconds).toBeGreaterThan(0.3);
    expect(seconds).toBeLessThan(1.3);
  });

  it('retries the transfer of a worker that died on another one, and replaces it', async () => {
    const body = randomBytes(1_000_000);
    await server.publish('crash.bin', body);
    let killed = false;
    const downloader = downloaders.create({ threads: 2, retries: 2, retryDelay: 1 }, {
      downloadProgress: (r) => {
        if (r.bytesDownloaded > 0 && !killed) {
          killed = true;
          void downloader.workerPool?.workers[0]?.terminate();
        }
      },
    });
    const [report] = await downloader.download([new DownloadRequest(server.slowUrl('crash.bin', 1_000_000), tmp.path('crash.bin'))]);
    expect(killed).toBe(true);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(report?.attempts).toBe(2);
    expect((await readFile(tmp.path('crash.bin'))).equals(body)).toBe(true);
    expect(downloader.workerPool?.workers.length).toBeGreaterThanOrEqual(1);
  });

  it('fails the transfer of a dead worker as retryable NECTAR_BACKEND when no retry is left', async () => {
    await server.publish('crash2.bin', randomBytes(1_000_000));
    const downloader = downloaders.create({ threads: 1 }, {
      downloadProgress: (r) => {
        if (r.bytesDownloaded > 0) void downloader.workerPool?.workers[0]?.terminate();
      },
    });
    const [report] = await downloader.download([new DownloadRequest(server.slowUrl('crash2.bin', 1_000_000), tmp.path('crash2.bin'))]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport.code).toBe('NECTAR_BACKEND');
    expect((await tmp.files()).filter((f) => f.includes('crash2.bin'))).toEqual([]);
    // The next request gets a fresh worker.
    const url = await server.publish('after.bin', randomBytes(1000));
    expect((await fetchOne(downloader, url, tmp.path('after.bin'))).state).toBe('succeeded');
  });
  it('names the error that crashed a worker in the reports of the transfers it took down', async () => {
    await server.publish('crash3.bin', randomBytes(1_000_000));
    const downloader = downloaders.create({ threads: 1 }, {
      downloadProgress: (r) => {
        // Not a list of messages: the worker's handler throws a TypeError it never catches.
        if (r.bytesDownloaded > 0) downloader.workerPool?.workers[0]?.postMessage(null);
      },
    });
    const [report] = await downloader.download([new DownloadRequest(server.slowUrl('crash3.bin', 1_000_000), tmp.path('crash3.bin'))]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport.code).toBe('NECTAR_BACKEND');
    expect(String(report?.errorReport.message)).toMatch(/TypeError: .*not iterable/);
    expect(report?.errorReport.workerError).toMatch(/not iterable/);
    expect((await tmp.files()).filter((f) => f.includes('crash3.bin'))).toEqual([]);
  });
});

describe('segments', () => {
  // Two segments of the default minimum (config.minSegmentSize, 32 MiB) each.
  const body = cryptoRandomBytes(64 * 1024 * 1024 + 3);
  const sha256 = createHash('sha256').update(body).digest('hex');

  it('fetches a large file served in ranges over two workers, written in place, digest checked', async () => {
    const url = await server.publish('large.bin', body);
    const downloader = downloaders.create({ threads: 2, segments: 2 });
    const [report] = await downloader.download([new DownloadRequest(url, tmp.path('large.bin'), { expectedDigest: { algorithm: 'sha256', value: sha256 } })]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(report?.bytesDownloaded).toBe(body.length);
    expect(server.received.map((r) => r.headers.range)).toEqual([undefined, `bytes=${Math.ceil(body.length / 2)}-${body.length - 1}`]);
    expect(server.received[1]?.headers['if-range']).toMatch(/^"/);
    expect(downloader.workerPool?.workers).toHaveLength(2);
    expect((await readFile(tmp.path('large.bin'))).equals(body)).toBe(true);
  });

  it('fetches the file whole from a server that does not announce ranges', async () => {
    const small = body.subarray(0, 2 * 1024 * 1024 + 3);
    await server.publish('large2.bin', small);
    const downloader = downloaders.create({ threads: 2, segments: 2, minSegmentSize: 1024 * 1024 });
    const report = await fetchOne(downloader, server.url('/files/large2.bin?noranges=1'), tmp.path('large2.bin'));
    expect(report.state).toBe('succeeded');
    expect(server.received).toHaveLength(1);
    expect((await readFile(tmp.path('large2.bin'))).equals(small)).toBe(true);
  });
});
