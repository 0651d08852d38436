import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComposedDownloader, type DownloaderConfigInput, DownloadRequest, HostLimits, type HostSlowdown } from '../src/backend.js';
import { nodeHttpBackend } from './support/http-backend.js';
import { OriginLog } from './support/origin-log.js';
import { startOriginProcess } from './support/origin-process.js';

let folder: string;
const origins: OriginLog[] = [];
const downloaders: ComposedDownloader[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-per-host-'));
});
afterEach(async () => {
  await Promise.all(downloaders.splice(0).map((d) => d.close()));
  await Promise.all(origins.splice(0).map((o) => o.stop()));
  await rm(folder, { recursive: true, force: true });
});

async function origin(): Promise<{ log: OriginLog; base: string }> {
  const log = new OriginLog();
  origins.push(log);
  return { log, base: await log.start() };
}

function downloader(config: DownloaderConfigInput, slowed: HostSlowdown[] = []): ComposedDownloader {
  const d = new ComposedDownloader(nodeHttpBackend(), { retryDelay: 10, ...config }, { hostSlowed: (_r, s) => void slowed.push(s) });
  downloaders.push(d);
  return d;
}

const requests = (base: string, count: number, path: (i: number) => string) =>
  Array.from({ length: count }, (_, i) => new DownloadRequest(`${base}${path(i)}`, join(folder, `${new URL(base).port}-${i}`)));

describe('maxPerHost', () => {
  it('never has more than maxPerHost transfers at once at one origin, while another origin runs beside it', async () => {
    const a = await origin();
    const b = await origin();
    const d = downloader({ maxConcurrent: 8, maxPerHost: 2 });
    const reports = await d.download([...requests(a.base, 10, () => '/file/1000?delay=120'), ...requests(b.base, 2, () => '/file/10?delay=120')]);
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(a.log.peak()).toBe(2);
    expect(b.log.visits).toHaveLength(2);
  });

  it('counts a redirect hop to another origin against that origin', async () => {
    const a = await origin();
    const b = await origin();
    // Every request to a is sent on to b: b must still see at most 2 at once.
    a.log.answer = (request, response) => void response.writeHead(302, { location: `${b.base}${request.url}` }).end();
    const d = downloader({ maxConcurrent: 8, maxPerHost: 2 });
    const reports = await d.download(requests(a.base, 8, () => '/file/100?delay=150'));
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(b.log.visits).toHaveLength(8);
    expect(b.log.peak()).toBe(2);
  });
});

describe('hostRate', () => {
  it('has no one-second window above hostRate at the origin, retries and redirect hops included', async () => {
    // The origin runs in a process of its own: its clock sees the wire, not this process's event loop.
    const origin = await startOriginProcess();
    try {
      const d = downloader({ maxConcurrent: 8, hostRate: 5, retries: 2 });
      const started = performance.now();
      // Every path fails once (a retry), and odd files come through a redirect.
      const reports = await d.download(requests(origin.base, 6, (i) => (i % 2 === 1 ? `/redirect/file/${i}` : `/file/${i}`)));
      // Stopped first: its last lines of log are then all read.
      await origin.stop();
      expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
      // 6 files: 12 GETs of files, and 6 redirect hops (each attempt of an odd file starts at its redirect).
      expect(origin.arrivals.length).toBe(18);
      expect(origin.busiestWindow(1000)).toBeLessThanOrEqual(5);
      // Evenly spaced: 18 requests at 5/s take at least 17 intervals of 200 ms.
      expect(performance.now() - started).toBeGreaterThan(3200);
    } finally {
      await origin.stop();
    }
  });

  it('applies setLimits() to a run in progress within a second', async () => {
    const { log, base } = await origin();
    const d = downloader({ maxConcurrent: 8, hostRate: 1 });
    const run = d.download(requests(base, 12, (i) => `/file/${i}`));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const changedAt = performance.now();
    expect(log.visits.length).toBeLessThanOrEqual(2);
    d.setLimits({ hostRate: 50 });
    const reports = await run;
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(performance.now() - changedAt).toBeLessThan(1000);
  });
});

describe('setLimits()', () => {
  it('raises and lowers maxPerHost during a run', async () => {
    const { log, base } = await origin();
    const d = downloader({ maxConcurrent: 8, maxPerHost: 1 });
    const run = d.download(requests(base, 16, () => '/file/10?delay=200'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(log.peak()).toBe(1);
    d.setLimits({ maxPerHost: 4 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(log.peak()).toBe(4);
    await run;
  });

  it('refuses what it cannot change, and bad values, naming the field', () => {
    const d = downloader({});
    expect(() => d.setLimits({ maxPerHost: 0 })).toThrow(/maxPerHost must be a positive integer/);
    expect(() => d.setLimits({ hostRate: Number.NaN })).toThrow(/hostRate/);
    expect(() => d.setLimits({ maxConcurrent: 3 } as never)).toThrow(/not "maxConcurrent"/);
    expect(() => d.setLimits(null as never)).toThrow(/takes an object/);
    d.setLimits({ maxPerHost: null, hostRate: 2, maxSpeedPerHost: undefined });
  });
});

describe('byte budgets', () => {
  it('shares maxSpeedPerHost between the transfers of one origin', async () => {
    const { base } = await origin();
    const d = downloader({ maxConcurrent: 8, maxSpeedPerHost: 64 * 1024 });
    const started = performance.now();
    await d.download(requests(base, 2, () => `/file/${64 * 1024}`));
    // 128 KiB at 64 KiB/s: about 2 s (the first chunk of each goes at once).
    expect((performance.now() - started) / 1000).toBeGreaterThan(1.4);
  });

  it("holds one request to its own maxSpeed, leaving the others free", async () => {
    const { base } = await origin();
    const d = downloader({ maxConcurrent: 8 });
    const slow = new DownloadRequest(`${base}/file/${48 * 1024}`, join(folder, 'slow'), { maxSpeed: 16 * 1024 });
    const fast = new DownloadRequest(`${base}/file/${48 * 1024}`, join(folder, 'fast'));
    const ends: Record<string, number> = {};
    const started = performance.now();
    await Promise.all([slow, fast].map(async (r, i) => {
      await d.download([r]);
      ends[i === 0 ? 'slow' : 'fast'] = (performance.now() - started) / 1000;
    }));
    expect(ends.slow).toBeGreaterThan(1.8);
    expect(ends.fast).toBeLessThan(1);
    expect(new DownloadRequest(slow.url, join(folder, 'x'), { maxSpeed: 5 }).toJSON().maxSpeed).toBe(5);
    expect(() => new DownloadRequest(slow.url, join(folder, 'x'), { maxSpeed: 0 })).toThrow(/maxSpeed must be/);
  });
});

describe('many origins', () => {
  it('forgets idle origins: 20,000 of them, one request each, keep the heap flat', async () => {
    // A full collection, so that the heap measured is what is kept, not garbage not yet swept.
    setFlagsFromString('--expose-gc');
    const heap = () => {
      (runInNewContext('gc') as () => void)();
      return process.memoryUsage().heapUsed;
    };
    const limits = new HostLimits({ maxPerHost: 2, hostRate: 100, maxSpeedPerHost: null }, { retryDelay: 10, retryMaxDelay: 100, retryAfterMax: 100 });
    const signal = new AbortController().signal;
    const visit = async (i: number) => {
      const pass = limits.pass(signal);
      await pass.begin(new URL(`http://127.0.${i >> 8}.${i & 255}:8080/`));
      await pass.ready();
      pass.leave();
    };
    for (let i = 0; i < 300; i++) await visit(i);
    const before = heap();
    for (let i = 300; i < 20_300; i++) await visit(i);
    // Kept, each origin's slots, gate and slowdown state would cost ~0.8 KB: 15 MB here.
    expect(heap() - before).toBeLessThan(1024 * 1024);
  });
});
