import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DownloadRequest } from '@nectar/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, type Scratch, scratch } from './helpers.js';

/**
 * Core splits a large file served in ranges (config.segments), in-process and through core's
 * worker pool alike. The origin here is a plain node:http server whose file can change between
 * two requests, and which logs every request's Range and If-Range.
 */
// 1 MiB segments (config.minSegmentSize's floor) split these files as 32 MiB ones split large files.
const size = 2 * 1024 * 1024 + 3;
const versions = [randomBytes(size), randomBytes(size)] as const;
let current = 0;
let changeAfterFirst = false;
/** A lying origin: each 206 carries 256 KiB more than the range it names. */
let longRanges = false;
const log: Array<{ range: string | undefined; ifRange: string | undefined; authorization?: string | undefined }> = [];
let server: Server;
let base: string;
/** Another origin (another port) that redirects to `base`, and what it saw. */
let redirector: Server;
let elsewhere: string;
const downloaders = new Downloaders();
let tmp: Scratch;

function serve(request: IncomingMessage, response: ServerResponse): void {
  log.push({ range: request.headers.range, ifRange: request.headers['if-range'] as string | undefined, authorization: request.headers.authorization });
  // For the rate test: a redirect on this origin, and a small file.
  if (request.url?.startsWith('/hop/')) {
    response.writeHead(302, { location: `/small/${request.url.slice(5)}` });
    response.end();
    return;
  }
  if (request.url?.startsWith('/small/')) {
    response.end('small');
    return;
  }
  const body = versions[current] as Buffer;
  const etag = `"v${current}"`;
  if (changeAfterFirst && log.length === 1) current = 1;
  const match = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
  const sameVersion = request.headers['if-range'] === undefined || request.headers['if-range'] === etag;
  if (match === null || !sameVersion) {
    response.writeHead(200, { 'content-length': body.length, etag, 'accept-ranges': 'bytes' });
    response.end(body);
    return;
  }
  const start = Number(match[1]);
  const end = Number(match[2]);
  const extra = longRanges ? Buffer.alloc(256 * 1024) : Buffer.alloc(0);
  response.writeHead(206, { 'content-length': end - start + 1 + extra.length, 'content-range': `bytes ${start}-${end}/${body.length}`, etag, 'accept-ranges': 'bytes' });
  response.end(Buffer.concat([body.subarray(start, end + 1), extra]));
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  redirector = createServer((request, response) => {
    response.writeHead(302, { location: `${base}${request.url}` });
    response.end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  elsewhere = `http://127.0.0.1:${(redirector.address() as AddressInfo).port}`;
  tmp = await scratch();
});
afterAll(async () => {
  await new Promise((resolve) => redirector.close(resolve));
  await new Promise((resolve) => server.close(resolve));
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  log.length = 0;
  current = 0;
  changeAfterFirst = false;
  longRanges = false;
});

const sha256 = (body: Buffer) => createHash('sha256').update(body).digest('hex');

describe.each([0, 2])('segments with threads: %i', (threads) => {
  it('fetches the second half with Range and If-Range, writes both in place, checks the digest', async () => {
    const dest = tmp.path(`split-${threads}.bin`);
    const downloader = downloaders.create({ threads, segments: 2, minSegmentSize: 1024 * 1024 });
    const [report] = await downloader.download([new DownloadRequest(`${base}/f`, dest, { expectedDigest: { algorithm: 'sha256', value: sha256(versions[0]) } })]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(log).toMatchObject([
      { range: undefined, ifRange: undefined },
      { range: `bytes=${Math.ceil(size / 2)}-${size - 1}`, ifRange: '"v0"' },
    ]);
    expect((await readFile(dest)).equals(versions[0])).toBe(true);
  });

  it('refuses a segment of a file that changed meanwhile, then fetches the new version whole — never a splice', async () => {
    changeAfterFirst = true;
    const dest = tmp.path(`changed-${threads}.bin`);
    const downloader = downloaders.create({ threads, segments: 2, minSegmentSize: 1024 * 1024, retries: 1, retryDelay: 1 });
    const [report] = await downloader.download([new DownloadRequest(`${base}/f`, dest)]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(report?.attempts).toBe(2);
    // The range asked for v0, the server had v1 and sent it whole: refused before any byte was written.
    expect(log[1]).toMatchObject({ range: `bytes=${Math.ceil(size / 2)}-${size - 1}`, ifRange: '"v0"' });
    expect(log.slice(2)).toMatchObject([
      { range: undefined, ifRange: undefined },
      { range: `bytes=${Math.ceil(size / 2)}-${size - 1}`, ifRange: '"v1"' },
    ]);
    expect((await readFile(dest)).equals(versions[1])).toBe(true);
  });

  it('writes no byte past a range that a lying origin makes longer, nor counts it', async () => {
    longRanges = true;
    const dest = tmp.path(`long-${threads}.bin`);
    const downloader = downloaders.create({ threads, segments: 2, minSegmentSize: 1024 * 1024 });
    const [report] = await downloader.download([new DownloadRequest(`${base}/f`, dest)]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(report?.bytesDownloaded).toBe(size);
    expect(log).toHaveLength(2);
    expect((await readFile(dest)).equals(versions[0])).toBe(true);
  });

  it('never splits a file a redirect moved to another origin: its credentials stay behind', async () => {
    const dest = tmp.path(`moved-${threads}.bin`);
    const downloader = downloaders.create({ threads, segments: 2, minSegmentSize: 1024 * 1024 });
    const [report] = await downloader.download([new DownloadRequest(`${elsewhere}/f`, dest, { headers: { authorization: 'Bearer SECRET' } })]);
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    // One whole request at the other origin, without the caller's Authorization: no range request re-sent it.
    expect(log).toEqual([{ range: undefined, ifRange: undefined, authorization: undefined }]);
    expect((await readFile(dest)).equals(versions[0])).toBe(true);
  });
});

describe('per-origin limits in worker threads', () => {
  it('makes a redirect hop in a worker take its rate token on the main thread', async () => {
    // Six files, each through a redirect on the same origin: 12 requests at hostRate 3. Without a
    // token per hop only the 6 first requests would be spaced (~1.7 s); with them, 11 intervals.
    const downloader = downloaders.create({ threads: 2, hostRate: 3, maxConcurrent: 6 });
    const started = performance.now();
    const reports = await downloader.download(Array.from({ length: 6 }, (_, i) => new DownloadRequest(`${base}/hop/${i}`, tmp.path(`hop-${i}.bin`))));
    const seconds = (performance.now() - started) / 1000;
    expect(reports.map((r) => r.state)).toEqual(Array(6).fill('succeeded'));
    expect(log).toHaveLength(12);
    expect(seconds).toBeGreaterThan(3.3);
  });
});
