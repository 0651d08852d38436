import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { describe, expect, it } from 'vitest';
import { expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { httpFixture } from '../fixtures/http.js';
import { type SocksFault, socksFixture } from '../fixtures/socks.js';
import { tlsMaterial } from '../fixtures/tls.js';
import { EventRecorder } from '../recorder.js';
import { extraServer } from './http.js';

const LOGIN = { username: 'socks-user', password: 'socks-Secret-9f2' };

/**
 * SOCKS5 proxies (`socks5://`: names resolved by the client; `socks5h://`: by the proxy) with an
 * RFC 1929 login, for http and https targets, checked from the proxy's side; and the ways a SOCKS
 * proxy fails, each with a clear NECTAR_PROXY and the password nowhere.
 */
export function socksCases(ctx: SuiteContext): void {
  describe.runIf(ctx.has('socksProxy'))('through a SOCKS5 proxy with a login', () => {
    const socks = extraServer(() => socksFixture({ auth: LOGIN }));
    const https = extraServer(() => httpFixture({ tls: true }));

    for (const targetTls of [false, true]) {
      for (const scheme of ['socks5', 'socks5h'] as const) {
        it(`downloads an ${targetTls ? 'https' : 'http'} target over ${scheme}://`, async (t) => {
          if (targetTls && !ctx.has('tls')) return t.skip('tls is not declared');
          const tls = await tlsMaterial();
          const file = await ctx.publish(40_000);
          const published = new URL(targetTls ? await https().publish(file.name, file.body) : file.url);
          // socks5h hands the proxy the name; socks5 an address it resolved itself.
          if (scheme === 'socks5h') published.hostname = 'localhost';
          const folder = await ctx.folder();
          socks().reset();
          const proxyUrl = socks().url.replace('socks5:', `${scheme}:`);
          const [report] = await ctx
            .downloader({ proxyUrl, proxyUsername: LOGIN.username, proxyPassword: LOGIN.password, ...(targetTls ? { sslCaCert: tls.ca.cert } : {}) })
            .download([new DownloadRequest(published.href, join(folder, 's'))]);
          expectState(report, 'succeeded');
          expect(await readFile(join(folder, 's'))).toEqual(file.body);
          const expected = scheme === 'socks5h' ? { addressType: 'domain', host: 'localhost' } : { addressType: 'ipv4', host: '127.0.0.1' };
          expect(socks().connects).toContainEqual({ ...expected, port: Number(published.port) });
          expect(socks().logins).toContain(LOGIN.username);
        });
      }
    }

    it('takes the login from the proxy URL too', async () => {
      const file = await ctx.publish(1000);
      const folder = await ctx.folder();
      const proxyUrl = socks().url.replace('//', `//${LOGIN.username}:${encodeURIComponent(LOGIN.password)}@`);
      const [report] = await ctx.downloader({ proxyUrl }).download([new DownloadRequest(file.url, join(folder, 'u'))]);
      expectState(report, 'succeeded');
    });

    it('fails wrong credentials with NECTAR_PROXY naming the fields to check, the password nowhere', async () => {
      const file = await ctx.publish(100);
      const folder = await ctx.folder();
      const events = new EventRecorder();
      const wrong = 'not-the-Password-77';
      const [report] = await ctx
        .downloader({ proxyUrl: socks().url, proxyUsername: LOGIN.username, proxyPassword: wrong, retries: 2, retryDelay: 1 }, events)
        .download([new DownloadRequest(file.url, join(folder, 'w'))]);
      expectState(report, 'failed');
      expect(report?.errorReport.code).toBe('NECTAR_PROXY');
      expect(String(report?.errorReport.message)).toMatch(/proxyUsername and config\.proxyPassword/);
      // A refused login does not change on a retry.
      expect(report?.attempts).toBe(1);
      expect(JSON.stringify([report, events.events.map((e) => e.report)])).not.toContain(wrong);
      expect(await ctx.leftovers(folder)).toEqual([]);
    });
  });

  describe.runIf(ctx.has('socksProxy'))('a SOCKS5 proxy that misbehaves', () => {
    const faults: ReadonlyArray<readonly [SocksFault, string]> = [
      ['close-after-greeting', 'closes the connection in the middle of the handshake'],
      ['close-after-login', 'closes the connection instead of answering CONNECT'],
      ['refuse-connect', 'refuses to connect to the target'],
    ];
    for (const [fault, what] of faults) {
      const socks = extraServer(() => socksFixture({ auth: LOGIN, fault }));
      it(`fails clearly, in bounded time, when the proxy ${what}`, async () => {
        const file = await ctx.publish(100);
        const folder = await ctx.folder();
        const started = performance.now();
        const [report] = await ctx
          .downloader({ proxyUrl: socks().url, proxyUsername: LOGIN.username, proxyPassword: LOGIN.password, connectTimeout: 3000 })
          .download([new DownloadRequest(file.url, join(folder, 'f'))]);
        expectState(report, 'failed');
        expect(report?.errorReport.code).toBe('NECTAR_PROXY');
        expect(String(report?.errorReport.message)).toContain('SOCKS proxy');
        expect(JSON.stringify(report)).not.toContain(LOGIN.password);
        expect(performance.now() - started).toBeLessThan(5000);
        expect(await ctx.leftovers(folder)).toEqual([]);
      });
    }

    const silences: ReadonlyArray<readonly [SocksFault, string]> = [
      ['silent', 'accepts the connection and never answers the greeting'],
      ['stall-connect', 'takes the login and never answers CONNECT'],
    ];
    for (const [fault, what] of silences) {
      const socks = extraServer(() => socksFixture({ auth: LOGIN, fault }));
      it(`fails within config.connectTimeout, naming the proxy, when it ${what}; its connection is closed`, async () => {
        const file = await ctx.publish(100);
        const folder = await ctx.folder();
        const connectTimeout = 500;
        const started = performance.now();
        const downloader = ctx.downloader({ proxyUrl: socks().url, proxyUsername: LOGIN.username, proxyPassword: LOGIN.password, connectTimeout });
        const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 's'))]);
        expect(performance.now() - started).toBeLessThan(connectTimeout + 1000);
        expectState(report, 'failed');
        expect(report?.errorReport.code).toBe('NECTAR_TIMEOUT');
        expect(String(report?.errorReport.message)).toContain(`via proxy ${socks().url}`);
        expect(String(report?.errorReport.message)).toContain('connectTimeout');
        expect(JSON.stringify(report)).not.toContain(LOGIN.password);
        // The client gave the handshake up: nothing of it may stay open, before or after close().
        await expect.poll(() => socks().open, { timeout: 500, interval: 20 }).toBe(0);
        await downloader.close();
        expect(socks().open).toBe(0);
      });
    }

    const silent = extraServer(() => socksFixture({ auth: LOGIN, fault: 'silent' }));
    it('ends a handshake in progress on close(), long before config.connectTimeout', async () => {
      const file = await ctx.publish(100);
      const folder = await ctx.folder();
      silent().reset();
      const downloader = ctx.downloader({ proxyUrl: silent().url, proxyUsername: LOGIN.username, proxyPassword: LOGIN.password, connectTimeout: 20_000 });
      const run = downloader.download([new DownloadRequest(file.url, join(folder, 's'))]);
      await expect.poll(() => silent().open, { timeout: 5_000, interval: 10 }).toBe(1);
      const started = performance.now();
      downloader.cancel();
      await downloader.close();
      // Without it, close() waited for the handshake: the whole connectTimeout (20 s here).
      expect(performance.now() - started).toBeLessThan(2_000);
      const [report] = await run;
      expectState(report, 'canceled');
      // No pool holds a connection still in its handshake: close() itself must reach it.
      await expect.poll(() => silent().open, { timeout: 500, interval: 10 }).toBe(0);
    }, 30_000);
  });
}
