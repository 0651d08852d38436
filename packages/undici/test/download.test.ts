import { readFile } from 'node:fs/promises';
import { DownloadRequest } from '@nectar/core';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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

describe('a plain download', () => {
  it('writes the bytes the server holds and reports their size', async () => {
    const body = randomBytes(1024 * 1024 + 7);
    const url = await server.publish('plain.bin', body);
    const headers: Array<Readonly<Record<string, unknown>>> = [];
    const downloader = downloaders.create({}, { downloadHeaders: (_r, h) => void headers.push(h) });
    const report = await fetchOne(downloader, url, tmp.path('plain.bin'));
    expect(report.state).toBe('succeeded');
    expect(report.totalBytes).toBe(body.length);
    expect(report.bytesDownloaded).toBe(body.length);
    expect(report.finalUrl).toBe(url);
    expect((await readFile(tmp.path('plain.bin'))).equals(body)).toBe(true);
    expect(headers).toHaveLength(1);
    expect(headers[0]?.['content-length']).toBe(String(body.length));
  });

  it('reports totalBytes null for a chunked body and still writes it whole', async () => {
    const body = randomBytes(200_000);
    await server.publish('chunked.bin', body);
    const report = await fetchOne(downloaders.create(), server.url('/files/chunked.bin?chunked=1'), tmp.path('chunked.bin'));
    expect(report.state).toBe('succeeded');
    expect(report.totalBytes).toBeNull();
    expect(report.bytesDownloaded).toBe(body.length);
    expect((await readFile(tmp.path('chunked.bin'))).equals(body)).toBe(true);
  });

  it('asks for the identity encoding and sends a nectar User-Agent', async () => {
    await server.publish('ua.bin', randomBytes(10));
    await fetchOne(downloaders.create(), server.url('/files/ua.bin'), tmp.path('ua.bin'));
    const [received] = server.received;
    expect(received?.headers['accept-encoding']).toBe('identity');
    expect(received?.headers['user-agent']).toMatch(/^nectar\//);
  });

  it('reuses one keep-alive connection for consecutive requests to an origin', async () => {
    const names = ['k1.bin', 'k2.bin', 'k3.bin'];
    for (const name of names) await server.publish(name, randomBytes(1000));
    const downloader = downloaders.create({ maxConcurrent: 1 });
    await downloader.download(names.map((n) => new DownloadRequest(server.url(`/files/${n}`), tmp.path(n))));
    expect(new Set(server.received.map((r) => r.connection)).size).toBe(1);
    expect(server.stats.connections).toBe(1);
  });

  it('never has more than maxConcurrent requests in flight', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `c${i}.bin`);
    for (const name of names) await server.publish(name, randomBytes(20_000));
    const downloader = downloaders.create({ maxConcurrent: 3 });
    const reports = await downloader.download(names.map((n) => new DownloadRequest(server.slowUrl(n, 100_000), tmp.path(n))));
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(server.stats.peakInFlight).toBe(3);
  });
});

describe('headers and basic auth', () => {
  it('merges config and request headers, the request winning, as the server sees them', async () => {
    const downloader = downloaders.create({ headers: { 'X-Config': 'config', 'X-Both': 'config', Accept: 'text/plain' } });
    await fetchOne(downloader, server.url('/echo'), tmp.path('echo.json'), { 'x-both': 'request', 'X-Request': 'request' });
    const seen = server.received[0]?.headers;
    expect(seen?.['x-config']).toBe('config');
    expect(seen?.['x-both']).toBe('request');
    expect(seen?.['x-request']).toBe('request');
    expect(seen?.accept).toBe('text/plain');
  });

  it('sends basic auth built from the config', async () => {
    const body = randomBytes(5000);
    await server.publish('secret.bin', body);
    const downloader = downloaders.create({ basicAuthUsername: 'user', basicAuthPassword: 'pass' });
    const report = await fetchOne(downloader, server.url('/auth/files/secret.bin'), tmp.path('secret.bin'));
    expect(report.state).toBe('succeeded');
    expect(server.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
  });

  it('fails with 401 and no file without the credentials', async () => {
    await server.publish('secret2.bin', randomBytes(10));
    const report = await fetchOne(downloaders.create(), server.url('/auth/files/secret2.bin'), tmp.path('secret2.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status: 401 });
    expect(await tmp.files()).not.toContain('secret2.bin');
  });
});

describe('basic auth with an empty password', () => {
  const emptyPassword = httpFixture({ auth: { username: 'alone', password: '' } });
  beforeAll(() => emptyPassword.start());
  afterAll(() => emptyPassword.stop());

  it('logs in with "alone:"', async () => {
    const body = randomBytes(100);
    await emptyPassword.publish('empty.bin', body);
    const downloader = downloaders.create({ basicAuthUsername: 'alone', basicAuthPassword: '' });
    const report = await fetchOne(downloader, emptyPassword.url('/auth/files/empty.bin'), tmp.path('empty.bin'));
    expect(report.state).toBe('succeeded');
    expect(emptyPassword.received[0]?.headers.authorization).toBe(`Basic ${Buffer.from('alone:').toString('base64')}`);
    expect((await readFile(tmp.path('empty.bin'))).equals(body)).toBe(true);
  });
});

describe('HTTP errors', () => {
  it.each([
    [404, 'Not Found', '/files/nothing.bin'],
    [500, 'Internal Server Error', '/status/500'],
  ])('%i fails with status, statusText and URL, leaving no file and no part file', async (status, statusText, path) => {
    const name = `status-${status}.bin`;
    const url = server.url(path);
    const report = await fetchOne(downloaders.create(), url, tmp.path(name));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status, statusText, url });
    expect(report.errorReport.message).toContain(String(status));
    const files = await tmp.files();
    expect(files.filter((f) => f.includes(name))).toEqual([]);
  });

  it('retries a 503 and honours a short Retry-After', async () => {
    const downloader = downloaders.create({ retries: 1, retryDelay: 1 });
    const started = performance.now();
    const report = await fetchOne(downloader, server.url('/status/503?retry-after=1'), tmp.path('busy.bin'));
    expect(report.state).toBe('failed');
    expect(report.attempts).toBe(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(900);
  });
});

describe('cancel', () => {
  it('cancels mid-body promptly and leaves no file', async () => {
    const body = randomBytes(400_000);
    await server.publish('slow.bin', body);
    const downloader = downloaders.create();
    let progressed = false;
    const done = downloader.download([new DownloadRequest(server.slowUrl('slow.bin', 100_000), tmp.path('slow.bin'))]);
    const listenerless = setInterval(() => {
      if (server.stats.bytesSent > 20_000 && !progressed) {
        progressed = true;
        downloader.cancel();
      }
    }, 10);
    const started = performance.now();
    const [report] = await done;
    clearInterval(listenerless);
    expect(progressed).toBe(true);
    expect(report?.state).toBe('canceled');
    expect(performance.now() - started).toBeLessThan(2000);
    expect((await tmp.files()).filter((f) => f.includes('slow.bin'))).toEqual([]);
  });
});
