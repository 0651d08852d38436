import { setTimeout as sleep } from 'node:timers/promises';
import { DownloaderConfig, DownloaderRegistry, DownloadRequest } from '@nectar/core';
import { type HttpFixture, httpFixture, type ProxyFixture, proxyFixture, tlsMaterial } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { register, UndiciDownloader } from '../src/index.js';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const http: HttpFixture = httpFixture();
const https: HttpFixture = httpFixture({ tls: true });
const proxy: ProxyFixture = proxyFixture({ tls: true });
const downloaders = new Downloaders();
let tmp: Scratch;

beforeAll(async () => {
  await Promise.all([http.start(), https.start(), proxy.start()]);
  tmp = await scratch();
});
afterAll(async () => {
  await Promise.all([http.stop(), https.stop(), proxy.stop()]);
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  http.reset();
});

/** Sockets and timers alive in this process, by kind. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) {
    // async_hooks call them TCPWRAP; getActiveResourcesInfo() says TCPSocketWrap.
    if (kind === 'TCPSocketWrap' || kind === 'TLSWrap' || kind === 'Timeout') counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** Waits for the server side of closed connections to notice, then compares with `before`. */
async function settlesBackTo(before: Record<string, number>): Promise<Record<string, number>> {
  let now = handles();
  for (let waited = 0; waited < 1000; waited += 50) {
    if (Object.entries(now).every(([kind, n]) => n <= (before[kind] ?? 0))) break;
    await sleep(50);
    now = handles();
  }
  return now;
}

describe('close()', () => {
  it('leaves no socket or timer behind, direct and through an https proxy', async () => {
    const tls = await tlsMaterial();
    const body = randomBytes(50_000);
    const urls = [await http.publish('h.bin', body), await https.publish('h.bin', body)];
    await sleep(50);
    const before = handles();
    const direct = new UndiciDownloader(new DownloaderConfig({ retries: 0, sslCaCert: tls.ca.cert }));
    const proxied = new UndiciDownloader(new DownloaderConfig({ retries: 0, sslCaCert: tls.ca.cert, proxyUrl: proxy.url }));
    for (const downloader of [direct, proxied]) {
      const reports = await downloader.download(urls.map((url, i) => new DownloadRequest(url, tmp.path(`${downloader === direct ? 'd' : 'p'}${i}.bin`))));
      expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    }
    // Keep-alive sockets are open now: close() must end them.
    expect(handles().TCPSocketWrap ?? 0).toBeGreaterThan(before.TCPSocketWrap ?? 0);
    await Promise.all([direct.close(), proxied.close()]);
    const after = await settlesBackTo(before);
    expect(Object.entries(after).filter(([kind, n]) => n > (before[kind] ?? 0))).toEqual([]);
  });

  it('drops the connection of a request that failed on its headers, not reading its body', async () => {
    await http.publish('big.bin', randomBytes(8 * 1024 * 1024));
    http.reset();
    const downloader = downloaders.create();
    const [report] = await downloader.download([new DownloadRequest(http.slowUrl('big.bin', 1_000_000), tmp.path('big.bin'), { expectedSize: 1 })]);
    expect(report?.errorReport.code).toBe('NECTAR_SIZE_MISMATCH');
    for (let waited = 0; waited < 1000 && http.stats.openConnections > 0; waited += 20) await sleep(20);
    expect(http.stats.openConnections).toBe(0);
    expect(http.stats.bytesSent).toBeLessThan(1_000_000);
  });

  it('refuses new work after close() and is idempotent', async () => {
    const downloader = downloaders.create();
    await downloader.close();
    await downloader.close();
    await expect(downloader.download([])).rejects.toMatchObject({ code: 'NECTAR_CLOSED' });
  });
});

describe('maxSpeed', () => {
  it('holds the whole downloader near maxSpeed (within 25%)', async () => {
    // Big enough that core's limiter, which lets one buffered batch through ahead of its
    // budget, stays well inside the bounds.
    const size = 1_000_000;
    const names = ['s1.bin', 's2.bin', 's3.bin'];
    for (const name of names) await http.publish(name, randomBytes(size));
    const maxSpeed = 1_000_000;
    const downloader = downloaders.create({ maxSpeed });
    const started = performance.now();
    const reports = await downloader.download(names.map((n) => new DownloadRequest(http.url(`/files/${n}`), tmp.path(n))));
    const seconds = (performance.now() - started) / 1000;
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    const rate = (names.length * size) / seconds;
    expect(rate).toBeGreaterThan(maxSpeed * 0.75);
    expect(rate).toBeLessThan(maxSpeed * 1.25);
  });
});

describe('progress', () => {
  it('fires downloadProgress often enough for a bar, throttled, and at least once', async () => {
    await http.publish('progress.bin', randomBytes(300_000));
    await http.publish('tiny.bin', randomBytes(1));
    const counts = new Map<string, number>();
    const downloader = downloaders.create({}, { downloadProgress: (r) => void counts.set(r.url, (counts.get(r.url) ?? 0) + 1) });
    const slow = http.slowUrl('progress.bin', 300_000);
    await downloader.download([new DownloadRequest(slow, tmp.path('progress.bin')), new DownloadRequest(http.url('/files/tiny.bin'), tmp.path('tiny.bin'))]);
    // About one second at one event per 100 ms.
    expect(counts.get(slow)).toBeGreaterThanOrEqual(5);
    expect(counts.get(slow)).toBeLessThanOrEqual(15);
    expect(counts.get(http.url('/files/tiny.bin'))).toBeGreaterThanOrEqual(1);
  });
});

describe('register()', () => {
  it('serves http and https URLs from a registry', async () => {
    const registry = new DownloaderRegistry();
    register(registry);
    expect(registry.has('http') && registry.has('https')).toBe(true);
    const body = randomBytes(1234);
    const url = await http.publish('registry.bin', body);
    const downloader = registry.create();
    try {
      const report = await fetchOne(downloader as UndiciDownloader, url, tmp.path('registry.bin'));
      expect(report.state).toBe('succeeded');
    } finally {
      await downloader.close();
    }
  });
});
