import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectState, expectStates } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { type HttpFixture, httpFixture } from '../fixtures/http.js';
import { type ProxyFixture, proxyFixture } from '../fixtures/proxy.js';
import { tlsMaterial } from '../fixtures/tls.js';

export function isHttpFixture(fixture: unknown): fixture is HttpFixture {
  return typeof fixture === 'object' && fixture !== null && 'origin' in fixture && 'received' in fixture;
}

interface Echo {
  method: string;
  url: string;
  headers: Record<string, string>;
}

async function echoOf(path: string): Promise<Echo> {
  return JSON.parse(await readFile(path, 'utf8')) as Echo;
}

/** Servers the HTTP capability cases need beside the main fixture; started only when declared (also used by the SOCKS and h2 cases). */
export function extraServer<T extends { start(): Promise<void>; stop(): Promise<void> }>(make: () => T): () => T {
  let server: T | undefined;
  beforeAll(async () => {
    server = make();
    await server.start();
  });
  afterAll(async () => {
    await server?.stop();
  });
  return () => server!;
}

/** Each declared HTTP capability, checked from the server's side. */
export function httpCapabilityCases(ctx: SuiteContext, http: HttpFixture): void {
  const PROXY_AUTH = { username: 'proxy-user', password: 'proxy-secret' };

  describe.runIf(ctx.has('headers'))('headers', () => {
    it('sends config headers merged with request headers, the request winning', async () => {
      const folder = await ctx.folder();
      const downloader = ctx.downloader({ headers: { 'X-Config': 'from-config', 'X-Both': 'config' } });
      const request = new DownloadRequest(http.url('/echo'), join(folder, 'echo.json'), { headers: { 'x-both': 'request', 'X-Request': 'r' } });
      const [report] = await downloader.download([request]);
      expectState(report, 'succeeded');
      const { headers } = await echoOf(join(folder, 'echo.json'));
      expect(headers['x-config']).toBe('from-config');
      expect(headers['x-both']).toBe('request');
      expect(headers['x-request']).toBe('r');
    });
  });

  describe.runIf(ctx.has('basicAuth'))('basic auth', () => {
    it('sends basic auth, base64-encoded by the downloader', async () => {
      const file = await ctx.publish(1000);
      const folder = await ctx.folder();
      const { username, password } = http.credentials;
      const [report] = await ctx.downloader({ basicAuthUsername: username, basicAuthPassword: password }).download([
        new DownloadRequest(http.url(`/auth/files/${file.name}`), join(folder, 'a')),
      ]);
      expectState(report, 'succeeded');
      expect(await readFile(join(folder, 'a'))).toEqual(file.body);
      expect(http.received.at(-1)?.headers.authorization).toBe(`Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`);
    });

    it('fails wrong credentials with status 401, no file, and no password in the errorReport', async () => {
      const file = await ctx.publish(1000);
      const folder = await ctx.folder();
      const [report] = await ctx.downloader({ basicAuthUsername: 'user', basicAuthPassword: 'wrong-secret' }).download([
        new DownloadRequest(http.url(`/auth/files/${file.name}`), join(folder, 'a')),
      ]);
      expectState(report, 'failed');
      expect(report?.errorReport.status).toBe(401);
      expect(JSON.stringify(report?.errorReport)).not.toContain('wrong-secret');
      expect(await ctx.leftovers(folder)).toEqual([]);
    });
  });

  describe('HTTP status', () => {
    it('fails 404 and 500 with status, statusText and url, leaving no file', async () => {
      const folder = await ctx.folder();
      const reports = await ctx.downloader().download([
        new DownloadRequest(http.url('/status/404'), join(folder, 'a')),
        new DownloadRequest(http.url('/status/500'), join(folder, 'b')),
      ]);
      expect(reports.map((r) => r.errorReport.status)).toEqual([404, 500]);
      for (const r of reports) {
        expectState(r, 'failed');
        expect(r.errorReport.code).toBe('NECTAR_HTTP_STATUS');
        expect(typeof r.errorReport.statusText).toBe('string');
        expect(r.errorReport.url).toBe(r.url);
      }
      expect(await ctx.leftovers(folder)).toEqual([]);
    });

    it('reports totalBytes null for a chunked body of unknown length', async () => {
      const file = await ctx.publish(70_000);
      const folder = await ctx.folder();
      const [report] = await ctx.downloader().download([new DownloadRequest(http.url(`/files/${file.name}?chunked=1`), join(folder, 'c'))]);
      expectState(report, 'succeeded');
      expect(report?.totalBytes).toBeNull();
      expect(report?.bytesDownloaded).toBe(70_000);
      expect(await readFile(join(folder, 'c'))).toEqual(file.body);
    });

    it('fails a body cut short of its Content-Length, leaving no file', async () => {
      const file = await ctx.publish(100_000);
      const folder = await ctx.folder();
      const [report] = await ctx.downloader().download([new DownloadRequest(http.url(`/files/${file.name}?drop=5000`), join(folder, 'd'))]);
      expectState(report, 'failed');
      expect(report?.errorReport.code).toMatch(/^NECTAR_(NETWORK|SIZE_MISMATCH)$/);
      expect(await ctx.leftovers(folder)).toEqual([]);
    });

    it('fails a stalled body after bodyTimeout instead of hanging', async () => {
      const file = await ctx.publish(100_000);
      const folder = await ctx.folder();
      const started = performance.now();
      const [report] = await ctx.downloader({ bodyTimeout: 500 }).download([new DownloadRequest(http.url(`/files/${file.name}?stall=1000`), join(folder, 's'))]);
      expectState(report, 'failed');
      expect(report?.errorReport.code).toBe('NECTAR_TIMEOUT');
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(await ctx.leftovers(folder)).toEqual([]);
    });
  });

  describe.runIf(ctx.has('redirects'))('redirects', () => {
    const other = extraServer(() => httpFixture());

    it('follows a chain of redirects and records the final URL', async () => {
      const file = await ctx.publish(4000);
      const folder = await ctx.folder();
      const [report] = await ctx.downloader().download([new DownloadRequest(http.url(`/chain/3/${file.name}`), join(folder, 'r'))]);
      expectState(report, 'succeeded');
      expect(await readFile(join(folder, 'r'))).toEqual(file.body);
      expect(report?.finalUrl).toBe(http.url(`/chain/0/${file.name}`));
    });

    it('fails a redirect loop with NECTAR_REDIRECT_LOOP and more than maxRedirects with NECTAR_TOO_MANY_REDIRECTS', async () => {
      const file = await ctx.publish(10);
      const folder = await ctx.folder();
      const reports = await ctx.downloader({ maxRedirects: 2 }).download([
        new DownloadRequest(http.url('/loop'), join(folder, 'l')),
        new DownloadRequest(http.url(`/chain/3/${file.name}`), join(folder, 'm')),
      ]);
      expect(reports.map((r) => r.errorReport.code)).toEqual(['NECTAR_REDIRECT_LOOP', 'NECTAR_TOO_MANY_REDIRECTS']);
      expect(await ctx.leftovers(folder)).toEqual([]);
    });

    it('keeps credentials on the same origin and drops them, and custom headers, on another', async () => {
      const folder = await ctx.folder();
      const config = { basicAuthUsername: 'user', basicAuthPassword: 'pass', headers: { 'X-Custom': 'secret-ish', Cookie: 'session=1', Accept: 'application/json' } };
      const cross = http.url(`/redirect?to=${encodeURIComponent(other().url('/echo'))}`);
      const same = http.url(`/redirect?to=${encodeURIComponent('/echo')}`);
      const reports = await ctx.downloader(ctx.has('basicAuth') && ctx.has('headers') ? config : {}).download([
        new DownloadRequest(cross, join(folder, 'cross.json')),
        new DownloadRequest(same, join(folder, 'same.json')),
      ]);
      expectStates(reports, ['succeeded', 'succeeded']);
      expect(reports[0]?.finalUrl).toBe(other().url('/echo'));
      const crossed = (await echoOf(join(folder, 'cross.json'))).headers;
      expect(crossed.authorization).toBeUndefined();
      expect(crossed.cookie).toBeUndefined();
      expect(crossed['x-custom']).toBeUndefined();
      if (ctx.has('basicAuth') && ctx.has('headers')) {
        expect(crossed.accept).toBe('application/json');
        const kept = (await echoOf(join(folder, 'same.json'))).headers;
        expect(kept.authorization).toMatch(/^Basic /);
        expect(kept['x-custom']).toBe('secret-ish');
      }
    });
  });

  // Credentials ride on requests only where basic auth is declared: a downloader that takes none
  // (the queue's: they would be stored in Redis) has none to keep from a mirror.
  describe.runIf(ctx.has('headers') && ctx.has('basicAuth'))('mirrors', () => {
    const other = extraServer(() => httpFixture());

    it("treats a mirror on another origin as a cross-origin redirect: none of the request's own credentials or headers but the keep-list", async () => {
      const folder = await ctx.folder();
      const own = { authorization: 'Bearer request-secret', cookie: 'session=2', 'x-api-key': 'key-secret', accept: 'application/json' };
      const withUserinfo = http.url('/missing').replace('http://', 'http://ann:url-secret@');
      const reports = await ctx.downloader({ retries: 0 }).download([
        new DownloadRequest(http.url('/missing'), join(folder, 'cross.json'), { mirrors: [other().url('/echo')], headers: own }),
        new DownloadRequest(withUserinfo, join(folder, 'userinfo.json'), { mirrors: [other().url('/echo')] }),
        new DownloadRequest(http.url('/missing'), join(folder, 'same.json'), { mirrors: [http.url('/echo')], headers: own }),
        new DownloadRequest(withUserinfo, join(folder, 'same-userinfo.json'), { mirrors: [http.url('/echo')] }),
      ]);
      expectStates(reports, ['succeeded', 'succeeded', 'succeeded', 'succeeded']);
      const crossed = (await echoOf(join(folder, 'cross.json'))).headers;
      expect([crossed.authorization, crossed.cookie, crossed['x-api-key'], crossed.accept]).toEqual([undefined, undefined, undefined, 'application/json']);
      expect((await echoOf(join(folder, 'userinfo.json'))).headers.authorization).toBeUndefined();
      const same = (await echoOf(join(folder, 'same.json'))).headers;
      expect([same.authorization, same.cookie, same['x-api-key']]).toEqual([own.authorization, own.cookie, own['x-api-key']]);
      expect((await echoOf(join(folder, 'same-userinfo.json'))).headers.authorization).toBe(`Basic ${Buffer.from('ann:url-secret').toString('base64')}`);
    });

    it('sends a mirror on another origin the request\'s credentials with trustRedirects, as a redirect', async () => {
      const folder = await ctx.folder();
      const withUserinfo = http.url('/missing').replace('http://', 'http://ann:url-secret@');
      const [report] = await ctx
        .downloader({ retries: 0, trustRedirects: true })
        .download([new DownloadRequest(withUserinfo, join(folder, 'trusted.json'), { mirrors: [other().url('/echo')], headers: { cookie: 'session=3' } })]);
      expectState(report, 'succeeded');
      const headers = (await echoOf(join(folder, 'trusted.json'))).headers;
      expect([headers.authorization, headers.cookie]).toEqual([`Basic ${Buffer.from('ann:url-secret').toString('base64')}`, 'session=3']);
    });
  });

  describe.runIf(ctx.has('tls'))('TLS', () => {
    const https = extraServer(() => httpFixture({ tls: true }));

    it('trusts a CA given as data or as a path, and rejects the server without it', async () => {
      const tls = await tlsMaterial();
      const file = await ctx.publish(3000);
      const url = await https().publish(file.name, file.body);
      const folder = await ctx.folder();
      const [withData] = await ctx.downloader({ sslCaCert: tls.ca.cert }).download([new DownloadRequest(url, join(folder, 'a'))]);
      const [withPath] = await ctx.downloader({ sslCaCertPath: tls.caPath }).download([new DownloadRequest(url, join(folder, 'b'))]);
      const [without] = await ctx.downloader().download([new DownloadRequest(url, join(folder, 'c'))]);
      expectStates([withData, withPath], ['succeeded', 'succeeded']);
      expect(await readFile(join(folder, 'a'))).toEqual(file.body);
      expectState(without, 'failed');
      expect(without?.errorReport.code).toBe('NECTAR_TLS');
      expect(await ctx.leftovers(folder)).toEqual(['a', 'b']);
    });

    it('skips verification only when sslValidation is false', async () => {
      const file = await ctx.publish(100);
      const url = await https().publish(file.name, file.body);
      const folder = await ctx.folder();
      const [report] = await ctx.downloader({ sslValidation: false }).download([new DownloadRequest(url, join(folder, 'x'))]);
      expectState(report, 'succeeded');
    });
  });

  describe.runIf(ctx.has('clientCert'))('client certificates', () => {
    const mtls = extraServer(() => httpFixture({ requestClientCert: true }));

    it('presents a client certificate given as data or as paths; fails without one', async () => {
      const tls = await tlsMaterial();
      const file = await ctx.publish(2000);
      const url = await mtls().publish(file.name, file.body);
      const folder = await ctx.folder();
      const reports = await Promise.all([
        ctx.downloader({ sslCaCert: tls.ca.cert, sslClientCert: tls.client.cert, sslClientKey: tls.client.key }).download([new DownloadRequest(url, join(folder, 'a'))]),
        ctx.downloader({ sslCaCertPath: tls.caPath, sslClientCertPath: tls.clientCertPath, sslClientKeyPath: tls.clientKeyPath }).download([new DownloadRequest(url, join(folder, 'b'))]),
        ctx.downloader({ sslCaCert: tls.ca.cert }).download([new DownloadRequest(url, join(folder, 'c'))]),
      ]);
      expectStates(
        reports.map(([r]) => r),
        ['succeeded', 'succeeded', 'failed'],
      );
      expect(mtls().received.filter((r) => r.clientCertSubject === tls.clientSubject).length).toBeGreaterThanOrEqual(2);
      expect(await ctx.leftovers(folder)).toEqual(['a', 'b']);
    });
  });

  for (const proxyTls of [false, true]) {
    const capable = ctx.has('proxy') && (!proxyTls || ctx.has('httpsProxy'));
    describe.runIf(capable)(`through an ${proxyTls ? 'https' : 'http'} proxy with authentication`, () => {
      const proxy = extraServer<ProxyFixture>(() => proxyFixture({ tls: proxyTls, auth: PROXY_AUTH }));
      const https = extraServer(() => httpFixture({ tls: true }));

      for (const targetTls of [false, true]) {
        it(`downloads an ${targetTls ? 'https' : 'http'} target`, async (t) => {
          if (targetTls && !ctx.has('tls')) return t.skip('tls is not declared');
          const tls = await tlsMaterial();
          const file = await ctx.publish(50_000);
          const url = targetTls ? await https().publish(file.name, file.body) : file.url;
          const folder = await ctx.folder();
          proxy().reset();
          const [report] = await ctx
            .downloader({ proxyUrl: proxy().url, proxyUsername: PROXY_AUTH.username, proxyPassword: PROXY_AUTH.password, ...(proxyTls || targetTls ? { sslCaCert: tls.ca.cert } : {}) })
            .download([new DownloadRequest(url, join(folder, 'p'))]);
          expectState(report, 'succeeded');
          expect(await readFile(join(folder, 'p'))).toEqual(file.body);
          const target = new URL(url).host;
          const used = [...proxy().connects, ...proxy().requests.map((r) => new URL(r).host)];
          expect(used).toContain(target);
          expect(proxy().authorizations).toContain(`Basic ${Buffer.from(`${PROXY_AUTH.username}:${PROXY_AUTH.password}`).toString('base64')}`);
        });
      }

      it('fails with wrong proxy credentials, naming no password', async () => {
        const tls = await tlsMaterial();
        const file = await ctx.publish(100);
        const folder = await ctx.folder();
        const [report] = await ctx
          .downloader({ proxyUrl: proxy().url, proxyUsername: 'proxy-user', proxyPassword: 'not-the-password', sslCaCert: tls.ca.cert })
          .download([new DownloadRequest(file.url, join(folder, 'p'))]);
        expectState(report, 'failed');
        expect(JSON.stringify(report?.errorReport)).not.toContain('not-the-password');
        expect(await ctx.leftovers(folder)).toEqual([]);
      });
    });
  }
}
