import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { describe, expect, it } from 'vitest';
import { expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { http2Fixture } from '../fixtures/http2.js';
import { extraServer } from './http.js';

/**
 * `http2: true` against a node:http2 server over TLS, checked from the server's side: many
 * downloads multiplexed on one connection; HTTP/1.1 when the field is off; a reset stream or a
 * GOAWAY handled as the transient failures they are.
 */
export function http2Cases(ctx: SuiteContext): void {
  describe.runIf(ctx.has('http2') && ctx.has('tls'))('over HTTP/2', () => {
    const h2 = extraServer(() => http2Fixture());
    const downloader = (config: { http2?: boolean; retries?: number; maxConcurrent?: number } = {}) =>
      ctx.downloader({ http2: true, sslCaCert: h2().tls.ca.cert, retryDelay: 1, ...config });

    it('multiplexes many downloads on one connection, as the server sees it', async () => {
      h2().reset();
      const folder = await ctx.folder();
      const files = Array.from({ length: 24 }, (_, i) => ({ name: `m${i}`, body: randomBytes(20_000) }));
      const requests = files.map((f) => new DownloadRequest(h2().publish(f.name, f.body), join(folder, f.name)));
      const connectionsBefore = h2().connections;
      const reports = await downloader({ maxConcurrent: 8 }).download(requests);
      for (const report of reports) expectState(report, 'succeeded');
      for (const f of files) expect(await readFile(join(folder, f.name))).toEqual(f.body);
      expect(h2().requests).toHaveLength(24);
      expect(new Set(h2().requests.map((r) => r.protocol))).toEqual(new Set(['h2']));
      // Several streams at once on one connection, and far fewer connections than transfers at
      // once (one per dispatcher: a backend running on worker threads has one per worker).
      expect(h2().peakStreams).toBeGreaterThanOrEqual(4);
      expect(h2().connections - connectionsBefore).toBeLessThanOrEqual(2);
      const perConnection = new Map<number, number>();
      for (const r of h2().requests) perConnection.set(r.connection, (perConnection.get(r.connection) ?? 0) + 1);
      expect(Math.max(...perConnection.values())).toBeGreaterThanOrEqual(12);
    });

    it('speaks HTTP/1.1 to the same server unless http2 is set', async () => {
      h2().reset();
      const folder = await ctx.folder();
      const url = h2().publish('h1', randomBytes(1000));
      const [report] = await downloader({ http2: false }).download([new DownloadRequest(url, join(folder, 'h1'))]);
      expectState(report, 'succeeded');
      expect(h2().requests.map((r) => r.protocol)).toEqual(['http/1.1']);
    });

    it('retries a stream the server resets (RST_STREAM), leaving the other streams of the connection unharmed', async () => {
      h2().reset();
      const folder = await ctx.folder();
      h2().publish('reset', randomBytes(200_000));
      const others = Array.from({ length: 4 }, (_, i) => new DownloadRequest(h2().publish(`o${i}`, randomBytes(50_000)), join(folder, `o${i}`)));
      const reset = new DownloadRequest(h2().url('/rst/reset'), join(folder, 'reset'));
      const [failed, ...rest] = await downloader({ retries: 2 }).download([reset, ...others]);
      expectState(failed, 'failed');
      // Three attempts: a reset stream is a transient failure, worth a retry.
      expect(failed?.attempts).toBe(3);
      expect(failed?.errorReport.code).not.toBe('NECTAR_BACKEND');
      for (const report of rest) expectState(report, 'succeeded');
      expect(await ctx.leftovers(folder)).toEqual(['o0', 'o1', 'o2', 'o3']);
    });

    it('goes on after a GOAWAY: the next downloads open a new connection', async () => {
      h2().reset();
      const folder = await ctx.folder();
      const d = downloader({ retries: 2 });
      h2().publish('first', randomBytes(10_000));
      const [first] = await d.download([new DownloadRequest(h2().url('/goaway/first'), join(folder, 'first'))]);
      expectState(first, 'succeeded');
      await new Promise((resolve) => setTimeout(resolve, 50));
      const later = Array.from({ length: 4 }, (_, i) => new DownloadRequest(h2().publish(`g${i}`, randomBytes(10_000)), join(folder, `g${i}`)));
      for (const report of await d.download(later)) expectState(report, 'succeeded');
      const connections = [...new Set(h2().requests.map((r) => r.connection))];
      expect(connections.length).toBeGreaterThanOrEqual(2);
      // The first connection said GOAWAY after its one stream: the rest came on others, few of them.
      expect(h2().requests.filter((r) => r.connection === h2().requests[0]?.connection)).toHaveLength(1);
      expect(connections.length).toBeLessThanOrEqual(3);
    });
  });
}
