import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BytesInFlight, ComposedDownloader, type DownloadReport, DownloadRequest } from '../src/backend.js';
import { nodeHttpBackend } from './support/http-backend.js';
import { OriginLog } from './support/origin-log.js';

describe('BytesInFlight', () => {
  it('grants in order while the budget holds, lets one alone pass whatever its size, and frees on release', async () => {
    const budget = new BytesInFlight(100);
    const signal = new AbortController().signal;
    const huge = await budget.reserve(1000, signal);
    let second = false;
    const waiting = budget.reserve(60, signal).then((release) => {
      second = true;
      return release;
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(second).toBe(false);
    huge();
    huge();
    const release = await waiting;
    expect(budget.used).toBe(60);
    release();
    expect(budget.used).toBe(0);
  });

  it('lets a waiter go when its signal aborts', async () => {
    const budget = new BytesInFlight(10);
    const hold = await budget.reserve(10, new AbortController().signal);
    const controller = new AbortController();
    const waiting = budget.reserve(5, controller.signal);
    controller.abort(new Error('stop'));
    await expect(waiting).rejects.toThrow('stop');
    hold();
    expect(budget.used).toBe(0);
  });
});

let folder: string;
let origin: OriginLog;
let base: string;
const downloaders: ComposedDownloader[] = [];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-bytes-'));
  origin = new OriginLog();
  base = await origin.start();
  // Each body goes out in four pieces over 300 ms, with or without its length announced.
  origin.answer = async (request, response) => {
    const url = new URL(request.url ?? '/', base);
    const size = Number(url.pathname.split('/')[2]);
    response.writeHead(200, url.searchParams.has('chunked') ? {} : { 'content-length': size });
    for (let i = 0; i < 4; i++) {
      response.write(Buffer.alloc(size / 4, 97));
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    response.end();
  };
});
afterEach(async () => {
  await Promise.all(downloaders.splice(0).map((d) => d.close()));
  await origin.stop();
  await rm(folder, { recursive: true, force: true });
});

/** The most downloads that had written bytes and not yet finished, at once. */
async function peakWriting(config: { maxBytesInFlight?: number }, query = ''): Promise<number> {
  const writing = new Set<DownloadReport>();
  let peak = 0;
  const downloader = new ComposedDownloader(nodeHttpBackend(), { ...config, progressInterval: 0 }, {
    downloadProgress(report) {
      if (report.bytesDownloaded === 0 || report.state !== 'downloading') return;
      writing.add(report);
      peak = Math.max(peak, writing.size);
    },
    downloadSucceeded: (report) => void writing.delete(report),
  });
  downloaders.push(downloader);
  const requests = Array.from({ length: 4 }, (_, i) => new DownloadRequest(`${base}/f/40000${query}`, join(folder, `f${i}`)));
  const reports = await downloader.download(requests);
  expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
  return peak;
}

describe('maxBytesInFlight', () => {
  it('counts each file by its announced size: two 40 kB files fit in 100 kB, four do not', async () => {
    expect(await peakWriting({ maxBytesInFlight: 100_000 })).toBe(2);
  });

  it('is off by default, and counts bodies of unknown size as nothing', async () => {
    expect(await peakWriting({})).toBe(4);
    expect(await peakWriting({ maxBytesInFlight: 100_000 }, '?chunked')).toBe(4);
  });

  it('runs a file larger than the whole budget alone rather than never', async () => {
    expect(await peakWriting({ maxBytesInFlight: 10_000 })).toBe(1);
  });
});
