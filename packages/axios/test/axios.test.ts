import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect as connectTcp, createServer as createTcpServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { DownloaderConfig, DownloaderRegistry, DownloadRequest } from '@nectar/core';
import { ComposedDownloader, Downloader } from '@nectar/core/backend';
import { disposeTlsMaterial, type HttpFixture, httpFixture, type ProxyFixture, proxyFixture, tlsMaterial } from '@nectar/conformance';
import axios from 'axios';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axiosBackend, register } from '../src/index.js';
import { Downloaders, type Scratch, echoed, eventually, fetchOne, scratch } from './helpers.js';

const PROXY_AUTH = { username: 'proxy-user', password: 'proxy-secret' };
const http = httpFixture();
const other = httpFixture();
const https = httpFixture({ tls: true });
const downloaders = new Downloaders();
let tmp: Scratch;
let counter = 0;

/** Publishes random bytes on `fixture` under a fresh name. */
async function publish(fixture: HttpFixture, size: number): Promise<{ url: string; body: Buffer; name: string }> {
  const body = randomBytes(size);
  const name = `f${++counter}.bin`;
  return { url: await fixture.publish(name, body), body, name };
}

beforeAll(async () => {
  await Promise.all([http.start(), other.start(), https.start()]);
  tmp = await scratch();
});
afterAll(async () => {
  await Promise.all([http.stop(), other.stop(), https.stop()]);
  await tmp.remove();
  await disposeTlsMaterial();
});
afterEach(() => downloaders.closeAll());

describe('timeouts', () => {
  let silent: Server;
  beforeAll(async () => {
    // Accepts the request and never answers it.
    silent = createServer(() => {});
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
  });
  afterAll(async () => {
    silent.closeAllConnections();
    await new Promise((resolve) => silent.close(resolve));
  });

  it('fails a stalled body after bodyTimeout, which axios alone would wait for forever', async () => {
    const file = await publish(http, 100_000);
    const started = performance.now();
    const report = await fetchOne(downloaders.create({ bodyTimeout: 300 }), `${file.url}?stall=20000`, tmp.path('stalled'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_TIMEOUT', timeout: 'body', ms: 300 });
    expect(performance.now() - started).toBeLessThan(3_000);
    expect(await tmp.files()).not.toContain('stalled');
  });

  it('does not count the time the speed limit holds the body back as a stall', async () => {
    const file = await publish(http, 400_000);
    const report = await fetchOne(downloaders.create({ bodyTimeout: 250, maxSpeed: 200_000 }), file.url, tmp.path('throttled'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(await readFile(tmp.path('throttled'))).toEqual(file.body);
  });

  it('times the proxy\'s CONNECT as connecting, and close() drops a tunnel still waiting', async () => {
    // A proxy that accepts connections and never answers.
    const sockets = new Set<Socket>();
    const mute = createTcpServer((socket) => {
      sockets.add(socket);
      // Reading is what lets a socket see its peer close.
      socket.resume();
      socket.once('close', () => sockets.delete(socket));
    });
    mute.listen(0, '127.0.0.1');
    await once(mute, 'listening');
    try {
      const file = await publish(https, 100);
      const downloader = downloaders.create({ proxyUrl: `http://127.0.0.1:${(mute.address() as { port: number }).port}`, connectTimeout: 300 });
      const report = await fetchOne(downloader, file.url, tmp.path('mute'));
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_TIMEOUT', timeout: 'connect', ms: 300 });
      expect(sockets.size).toBe(1);
      await downloader.close();
      expect(await eventually(() => sockets.size === 0)).toBe(true);
    } finally {
      for (const socket of sockets) socket.destroy();
      mute.close();
    }
  });

  it('fails a server that never sends headers after headersTimeout', async () => {
    const { port } = silent.address() as { port: number };
    const report = await fetchOne(downloaders.create({ headersTimeout: 300 }), `http://127.0.0.1:${port}/x`, tmp.path('silent'));
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_TIMEOUT', timeout: 'headers' });
  });
});

describe('failures', () => {
  it('fails a 404 with its status and leaves no file', async () => {
    const report = await fetchOne(downloaders.create(), http.missingUrl('absent.bin'), tmp.path('absent.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status: 404, statusText: 'Not Found' });
    expect(await tmp.files()).not.toContain('absent.bin');
    expect(await tmp.files()).not.toContain('.absent.bin.nectar-part');
  });

  it('fails a refused connection as a retryable NECTAR_CONNECT', async () => {
    const report = await fetchOne(downloaders.create(), http.unreachableUrl(), tmp.path('refused'));
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_CONNECT', errno: 'ECONNREFUSED' });
  });

  it('resumes a body cut short with Range and If-Range', async () => {
    const file = await publish(http, 100_000);
    http.reset();
    const downloader = downloaders.create({ retries: 1, retryDelay: 0 });
    const report = await fetchOne(downloader, `${file.url}?drop=60000`, tmp.path('resumed'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(report.attempts).toBe(2);
    expect(await readFile(tmp.path('resumed'))).toEqual(file.body);
    expect(http.received.at(-1)?.headers.range).toBe('bytes=60000-');
    expect(http.received.at(-1)?.headers['if-range']).toMatch(/^"/);
  });
});

describe('your own axios instance', () => {
  it('applies its interceptors and default headers', async () => {
    const client = axios.create({ headers: { 'X-App-Default': 'from-defaults' } });
    client.interceptors.request.use((config) => {
      config.headers.set('X-Intercepted', 'yes');
      return config;
    });
    const report = await fetchOne(downloaders.create({}, { axios: client }), http.url('/echo'), tmp.path('instance.json'));
    expect(report.state).toBe('succeeded');
    const headers = await echoed(tmp.path('instance.json'));
    expect(headers['x-intercepted']).toBe('yes');
    expect(headers['x-app-default']).toBe('from-defaults');
    // Nectar's own headers still win over axios' defaults.
    expect(headers['accept-encoding']).toBe('identity');
    expect(headers['user-agent']).toMatch(/^nectar\//);
  });

  it('rejects something that is not an axios instance', () => {
    expect(() => downloaders.create({}, { axios: {} as never })).toThrow(/axios instance/);
  });
});

describe('register()', () => {
  it('serves http and https through a registry, with the instance it was given', async () => {
    const client = axios.create({ headers: { 'X-Registered': 'yes' } });
    const registry = new DownloaderRegistry();
    register(registry, { axios: client });
    const downloader = registry.create();
    try {
      const [report] = await downloader.download([new DownloadRequest(http.url('/echo'), tmp.path('registry.json'))]);
      expect(report?.state).toBe('succeeded');
      expect((await echoed(tmp.path('registry.json')))['x-registered']).toBe('yes');
    } finally {
      await downloader.close();
    }
  });

  it('registers a backend object, so the registry builds no downloader of its own', async () => {
    const registry = new DownloaderRegistry();
    register(registry);
    const product = (await registry.resolve('https'))(new DownloaderConfig());
    expect(product).not.toBeInstanceOf(Downloader);
    expect(product).toMatchObject({ name: 'axios', schemes: ['http', 'https'] });
  });
});

describe('axiosBackend()', () => {
  it("is composed by core's engine as the class form is", async () => {
    const downloader = new ComposedDownloader(axiosBackend(), { retries: 0 });
    try {
      const { url, body } = await publish(http, 1_000);
      expect(await fetchOne(downloader, url, tmp.path('composed.bin'))).toMatchObject({ state: 'succeeded' });
      expect((await readFile(tmp.path('composed.bin'))).equals(body)).toBe(true);
    } finally {
      await downloader.close();
    }
  });
});

describe('redirects', () => {
  it('drops custom headers, credentials and the instance default headers on another origin only', async () => {
    const client = axios.create({ headers: { common: { 'X-App-Token': 'app-secret' } } });
    const downloader = downloaders.create({ basicAuthUsername: 'u', basicAuthPassword: 'p', headers: { 'X-Custom': 'c', Accept: 'text/plain' } }, { axios: client });
    const cross = http.url(`/redirect?to=${encodeURIComponent(other.url('/echo'))}`);
    const same = http.url(`/redirect?to=${encodeURIComponent('/echo')}`);
    const reports = await downloader.download([new DownloadRequest(cross, tmp.path('cross.json')), new DownloadRequest(same, tmp.path('same.json'))]);
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    const crossed = await echoed(tmp.path('cross.json'));
    for (const name of ['authorization', 'x-custom', 'x-app-token']) expect(crossed[name], name).toBeUndefined();
    expect(crossed.accept).toBe('text/plain');
    const kept = await echoed(tmp.path('same.json'));
    expect(kept).toMatchObject({ 'x-custom': 'c', 'x-app-token': 'app-secret' });
    expect(kept.authorization).toMatch(/^Basic /);
  });

  it('keeps them all with trustRedirects', async () => {
    const client = axios.create({ headers: { common: { 'X-App-Token': 'app-secret' } } });
    const downloader = downloaders.create({ trustRedirects: true, headers: { 'X-Custom': 'c' } }, { axios: client });
    const report = await fetchOne(downloader, http.url(`/redirect?to=${encodeURIComponent(other.url('/echo'))}`), tmp.path('trusted.json'));
    expect(report.state).toBe('succeeded');
    expect(await echoed(tmp.path('trusted.json'))).toMatchObject({ 'x-custom': 'c', 'x-app-token': 'app-secret' });
  });
});

for (const proxyTls of [false, true]) {
  describe(`through an ${proxyTls ? 'https' : 'http'} proxy with authentication`, () => {
    let proxy: ProxyFixture;
    beforeAll(async () => {
      proxy = proxyFixture({ tls: proxyTls, auth: PROXY_AUTH });
      await proxy.start();
    });
    afterAll(() => proxy.stop());

    const config = async (password = PROXY_AUTH.password) => ({
      proxyUrl: proxy.url,
      proxyUsername: PROXY_AUTH.username,
      proxyPassword: password,
      sslCaCert: (await tlsMaterial()).ca.cert,
    });

    it('sends an http target as an absolute-form request, with Proxy-Authorization', async () => {
      const file = await publish(http, 30_000);
      proxy.reset();
      const report = await fetchOne(downloaders.create(await config()), file.url, tmp.path(`p-http-${proxyTls}`));
      expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
      expect(await readFile(tmp.path(`p-http-${proxyTls}`))).toEqual(file.body);
      expect(proxy.requests).toEqual([file.url]);
      expect(proxy.connects).toEqual([]);
      expect(proxy.authorizations).toContain(`Basic ${Buffer.from('proxy-user:proxy-secret').toString('base64')}`);
    });

    it('tunnels an https target through CONNECT, verifying the target with the config CA', async () => {
      const file = await publish(https, 30_000);
      proxy.reset();
      const report = await fetchOne(downloaders.create(await config()), file.url, tmp.path(`p-https-${proxyTls}`));
      expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
      expect(await readFile(tmp.path(`p-https-${proxyTls}`))).toEqual(file.body);
      expect(proxy.connects).toEqual([new URL(file.url).host]);
      expect(proxy.requests).toEqual([]);
    });

    it('fails wrong proxy credentials with NECTAR_PROXY for both targets, naming no password', async () => {
      const files = [await publish(http, 100), await publish(https, 100)];
      const downloader = downloaders.create(await config('wrong-password'));
      const reports = await downloader.download(files.map((f, i) => new DownloadRequest(f.url, tmp.path(`p-wrong-${proxyTls}-${i}`))));
      for (const report of reports) {
        expect(report.state).toBe('failed');
        expect(report.errorReport).toMatchObject({ code: 'NECTAR_PROXY', status: 407 });
        expect(JSON.stringify(report.errorReport)).not.toContain('wrong-password');
      }
      expect((await tmp.files()).filter((f) => f.includes('p-wrong'))).toEqual([]);
    });
  });
}

describe('an https proxy named by host', () => {
  let proxy: ProxyFixture;
  let front: TlsServer;
  const names: (string | false | null)[] = [];
  beforeAll(async () => {
    proxy = proxyFixture();
    await proxy.start();
    // TLS in front of the plain proxy fixture, recording the name each client asked for (SNI).
    const { server } = await tlsMaterial();
    front = createTlsServer({ key: server.key, cert: server.cert }, (socket: TLSSocket) => {
      names.push(socket.servername);
      const upstream = connectTcp(proxy.port, '127.0.0.1');
      socket.pipe(upstream).pipe(socket);
      socket.once('close', () => upstream.destroy());
      upstream.once('close', () => socket.destroy());
    });
    front.listen(0, '127.0.0.1');
    await once(front, 'listening');
  });
  afterAll(async () => {
    await proxy.stop();
    await new Promise((resolve) => front.close(resolve));
  });

  it('sends its name as SNI, for http targets as for tunnelled https ones', async () => {
    const files = [await publish(http, 100), await publish(https, 100)];
    const { port } = front.address() as AddressInfo;
    const downloader = downloaders.create({ proxyUrl: `https://localhost:${port}`, sslCaCert: (await tlsMaterial()).ca.cert });
    const reports = await downloader.download(files.map((f, i) => new DownloadRequest(f.url, tmp.path(`sni-${i}`))));
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    expect(names).toEqual(['localhost', 'localhost']);
  });
});

describe('speed limit', () => {
  it('shares maxSpeed between concurrent requests', async () => {
    const files = await Promise.all([publish(http, 256 * 1024), publish(http, 256 * 1024)]);
    const started = performance.now();
    const reports = await downloaders
      .create({ maxSpeed: 256 * 1024, maxConcurrent: 2 })
      .download(files.map((f, i) => new DownloadRequest(f.url, tmp.path(`speed-${i}`))));
    const seconds = (performance.now() - started) / 1000;
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    // Two files at the whole downloader's rate take about two seconds, not one.
    expect(seconds).toBeGreaterThan(1.5);
    expect(seconds).toBeLessThan(3.5);
  });
});

describe('Content-Encoding', () => {
  const text = Buffer.from('nectar '.repeat(20_000));
  const archive = gzipSync(Buffer.from('the .tar inside a .tar.gz'));
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/archive.tar.gz') {
        // A gzip file labelled Content-Encoding: gzip, a common misconfiguration.
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': archive.length });
        res.end(archive);
      } else if (req.url === '/odd') {
        res.writeHead(200, { 'content-encoding': 'x-unknown', 'content-length': 3 });
        res.end('abc');
      } else {
        const gzip = String(req.headers['accept-encoding']).includes('gzip');
        const bytes = gzip ? gzipSync(text) : text;
        res.writeHead(200, { 'content-encoding': gzip ? 'gzip' : 'identity', 'content-length': bytes.length });
        res.end(bytes);
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('writes a body sent with Content-Encoding gzip as sent, its Content-Length the total', async () => {
    const report = await fetchOne(downloaders.create(), `${origin}/archive.tar.gz`, tmp.path('archive.tar.gz'));
    expect(report.state).toBe('succeeded');
    expect(await readFile(tmp.path('archive.tar.gz'))).toEqual(archive);
    expect(report.totalBytes).toBe(archive.length);
  });

  it('with decompress, writes the decoded bytes with totalBytes null', async () => {
    const report = await fetchOne(downloaders.create({ decompress: true }), `${origin}/text`, tmp.path('decoded.txt'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(report.totalBytes).toBeNull();
    expect(await readFile(tmp.path('decoded.txt'))).toEqual(text);
  });

  it('with decompress, fails a coding it cannot decode instead of writing it', async () => {
    const report = await fetchOne(downloaders.create({ decompress: true }), `${origin}/odd`, tmp.path('odd'));
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', contentEncoding: 'x-unknown' });
  });
});

describe('close()', () => {
  it('reuses keep-alive connections, then closes them and leaves no handle', async () => {
    const files = await Promise.all([publish(http, 10_000), publish(http, 10_000), publish(http, 10_000)]);
    // Connections of earlier tests' downloaders close in the background.
    expect(await eventually(() => http.stats.openConnections === 0)).toBe(true);
    const before = process.getActiveResourcesInfo();
    http.reset();
    const downloader = downloaders.create({ maxConcurrent: 1 });
    const reports = await downloader.download(files.map((f, i) => new DownloadRequest(f.url, tmp.path(`ka-${i}`))));
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(http.stats.connections).toBe(1);
    expect(http.stats.openConnections).toBe(1);
    await downloader.close();
    expect(await eventually(() => http.stats.openConnections === 0)).toBe(true);
    const count = (resources: string[], type: string) => resources.filter((r) => r === type).length;
    const after = process.getActiveResourcesInfo();
    for (const type of ['TCPSocketWrap', 'Timeout']) expect(count(after, type), type).toBeLessThanOrEqual(count(before, type));
  });
});
