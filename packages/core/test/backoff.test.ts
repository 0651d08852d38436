import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AdaptiveLimit, ComposedDownloader, type DownloaderConfigInput, DownloadRequest, type HostSlowdown, RequestGate } from '../src/backend.js';
import { nodeHttpBackend } from './support/http-backend.js';
import { OriginLog } from './support/origin-log.js';

const settings = { retryDelay: 100, retryMaxDelay: 1000, retryAfterMax: 5000 };

describe('AdaptiveLimit', () => {
  it('halves once per burst, pauses for the backoff, and adds one back a second', () => {
    const limit = new AdaptiveLimit(settings);
    expect(limit.slowDown(4, 4, undefined, 0)).toEqual({ maxAtOnce: 2, pause: 100 });
    // A second 503 of the same burst: no second halving, a longer pause.
    expect(limit.slowDown(4, 4, undefined, 500)).toEqual({ maxAtOnce: 2, pause: 200 });
    expect(limit.slowDown(2, 4, undefined, 1500)).toEqual({ maxAtOnce: 1, pause: 400 });
    // The last pause ends at 1900: recovery starts a second after.
    expect(limit.recover(2600)).toBe(false);
    expect(limit.recover(2900)).toBe(true);
    expect(limit.limit).toBe(2);
    limit.recover(3900);
    expect(limit.limit).toBe(3);
    limit.recover(4900);
    // Back where it was before the first 503: the rule lets go.
    expect(limit.slowed).toBe(false);
  });

  it('honours Retry-After up to retryAfterMax; garbage (NaN, negative) means the backoff', () => {
    expect(new AdaptiveLimit(settings).slowDown(1, Infinity, 1e12, 0).pause).toBe(5000);
    expect(new AdaptiveLimit(settings).slowDown(1, Infinity, 2000, 0).pause).toBe(2000);
    expect(new AdaptiveLimit(settings).slowDown(1, Infinity, Number.NaN, 0).pause).toBe(100);
    expect(new AdaptiveLimit(settings).slowDown(1, Infinity, -5, 0).pause).toBe(100);
    // Never below one at once, whatever the load when it came.
    expect(new AdaptiveLimit(settings).slowDown(0, Infinity, undefined, 0).maxAtOnce).toBe(1);
  });

  it('caps the backoff of a long streak at retryMaxDelay', () => {
    const limit = new AdaptiveLimit(settings);
    let pause = 0;
    for (let i = 0; i < 100; i++) pause = limit.slowDown(1, 1, undefined, i * 2000).pause;
    expect(pause).toBe(1000);
  });
});

describe('RequestGate', () => {
  it('spaces grants evenly at the rate and re-times waiters when the rate changes', async () => {
    const gate = new RequestGate(10);
    const times: number[] = [];
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => gate.wait().then(() => times.push(performance.now() - started))));
    for (let i = 1; i < times.length; i++) expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThan(90);
    gate.rate = 0.01;
    const slow = gate.wait();
    setTimeout(() => (gate.rate = 1000), 50);
    await slow;
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('holds every request during a pause, and lets a waiter go when its signal aborts', async () => {
    const gate = new RequestGate(null);
    gate.pauseUntil(performance.now() + 60_000);
    const controller = new AbortController();
    const waiting = gate.wait(controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    expect(gate.paused).toBeGreaterThan(59_000);
  });
});

let folder: string;
let origin: OriginLog;
let base: string;
const downloaders: ComposedDownloader[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-backoff-'));
  origin = new OriginLog();
  base = await origin.start();
});
afterEach(async () => {
  await Promise.all(downloaders.splice(0).map((d) => d.close()));
  await origin.stop();
  await rm(folder, { recursive: true, force: true });
});

function downloader(config: DownloaderConfigInput, slowed: HostSlowdown[]): ComposedDownloader {
  const d = new ComposedDownloader(nodeHttpBackend(), { retryDelay: 10, retries: 5, ...config }, { hostSlowed: (_r, s) => void slowed.push(s) });
  downloaders.push(d);
  return d;
}

const files = (count: number, query = '') => Array.from({ length: count }, (_, i) => new DownloadRequest(`${base}/file/100${query}`, join(folder, `f${i}`)));

describe('a 429/503 slows the origin down', () => {
  it('after a 503 burst: a pause honouring Retry-After, fewer at once, then back to maxPerHost', async () => {
    // The burst: the first four requests, all sent at once (maxPerHost 4), answered 503.
    let answered = 0;
    origin.answer = async (_request, response) => {
      if (answered++ < 4) return void response.writeHead(503, { 'retry-after': '1' }).end();
      await new Promise((resolve) => setTimeout(resolve, 100));
      response.writeHead(200, { 'content-length': 100 }).end(Buffer.alloc(100));
    };
    const slowed: HostSlowdown[] = [];
    const reports = await downloader({ maxConcurrent: 8, maxPerHost: 4 }, slowed).download(files(70));
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(slowed[0]).toMatchObject({ origin: base, status: 503, retryAfter: 1000, maxAtOnce: 2, pause: 1000 });
    const refused = origin.visits.slice(0, 4);
    const after = origin.visits.slice(4);
    // The pause, seen by the origin: nothing for a second after the burst.
    const pauseEnd = Math.min(...after.map((v) => v.at));
    expect(pauseEnd - Math.max(...refused.map((v) => v.at))).toBeGreaterThan(900);
    // Fewer at once right after it, the full maxPerHost again by the end.
    expect(Math.max(...after.filter((v) => v.at < pauseEnd + 800).map((v) => v.inFlight))).toBeLessThanOrEqual(2);
    expect(Math.max(...after.filter((v) => v.at > pauseEnd + 2500).map((v) => v.inFlight))).toBe(4);
    expect(origin.peak()).toBeLessThanOrEqual(4);
  });

  it('caps a Retry-After of 10^9 seconds at retryAfterMax, and takes garbage as no Retry-After', async () => {
    let answers = 0;
    const values = ['1000000000', 'soon'];
    origin.answer = (_request, response) => {
      const value = values[answers++];
      if (value !== undefined) return void response.writeHead(429, { 'retry-after': value }).end();
      response.writeHead(200, { 'content-length': 1 }).end('x');
    };
    const slowed: HostSlowdown[] = [];
    const [report] = await downloader({ retryAfterMax: 1500, retryDelay: 300 }, slowed).download(files(1));
    expect(report?.state).toBe('succeeded');
    expect(slowed.map((s) => [s.status, s.retryAfter, s.pause])).toEqual([
      [429, 1e12, 1500],
      [429, null, 600],
    ]);
    const [first, second, third] = origin.visits.map((v) => v.at) as [number, number, number];
    expect(second - first).toBeGreaterThan(1400);
    expect(second - first).toBeLessThan(3000);
    expect(third - second).toBeGreaterThan(550);
  });

  it('a cancel ends a request waiting out a long pause at once', async () => {
    origin.answer = (_request, response) => void response.writeHead(503, { 'retry-after': '50' }).end();
    const slowed: HostSlowdown[] = [];
    const d = downloader({ retryAfterMax: 60_000 }, slowed);
    const run = d.download(files(3));
    while (slowed.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    const canceledAt = performance.now();
    d.cancel();
    const reports = await run;
    expect(performance.now() - canceledAt).toBeLessThan(500);
    expect(reports.map((r) => r.state)).toEqual(['canceled', 'canceled', 'canceled']);
  });

  it('does not slow down for other statuses (500, 404)', async () => {
    origin.answer = (_request, response) => void response.writeHead(500).end();
    const slowed: HostSlowdown[] = [];
    const reports = await downloader({ retries: 1 }, slowed).download(files(2));
    expect(reports.map((r) => r.state)).toEqual(['failed', 'failed']);
    expect(slowed).toEqual([]);
  });
});
