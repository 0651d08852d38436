import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type DownloadReport, DownloadRequest, partPath } from '@nectar/core/backend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAllIn, expectBytes, expectState, expectStates, outcome } from '../outcome.js';
import type { Published, SuiteContext } from '../context.js';
import { type HttpFixture, httpFixture } from '../fixtures/http.js';
import { tlsMaterial } from '../fixtures/tls.js';

/** Fast retries: the cases check what happens, not how long backoff waits. */
const RETRY = { retries: 2, retryDelay: 10, retryMaxDelay: 50 } as const;

/**
 * What a misbehaving server does to a download. For each fault: the report's state and
 * errorReport, a destination holding the whole correct file or nothing, a caller's stream never
 * closed, and no connection left open once the downloader is closed.
 */
export function faultCases(ctx: SuiteContext, http: HttpFixture): void {
  const url = (file: Published, query: string) => http.url(`/files/${encodeURIComponent(file.name)}?${query}`);

  async function fetchOne(file: Published, query: string, config: Record<string, unknown> = {}): Promise<{ report: DownloadReport; dest: string; folder: string }> {
    const folder = await ctx.folder();
    const dest = join(folder, 'out.bin');
    const [report] = await ctx.downloader({ ...RETRY, ...config }).download([new DownloadRequest(url(file, query), dest)]);
    return { report: report!, dest, folder };
  }

  async function expectWholeOrNothing(report: DownloadReport, dest: string, folder: string, body: Buffer): Promise<void> {
    if (report.state === 'succeeded') expectBytes(await readFile(dest), body);
    else expect(existsSync(dest)).toBe(false);
    expect((await ctx.leftovers(folder)).filter((f) => f.endsWith('.nectar-part'))).toEqual([]);
  }

  it('survives a connection reset mid-body by retrying, byte for byte', async () => {
    const file = await ctx.publish(200_000);
    const { report, dest, folder } = await fetchOne(file, 'reset=50000&times=1');
    expectState(report, 'succeeded');
    expect(report.attempts).toBe(2);
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('fails cleanly when every attempt is reset, naming a network error', async () => {
    const file = await ctx.publish(100_000);
    const { report, dest, folder } = await fetchOne(file, 'reset=1000', { retries: 1 });
    expectState(report, 'failed');
    expect(report.errorReport.code).toMatch(/^NECTAR_(NETWORK|SIZE_MISMATCH)$/);
    expect(report.errorReport.attempts).toBe(2);
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('retries a body that stalls past bodyTimeout', async () => {
    const file = await ctx.publish(100_000);
    const { report, dest, folder } = await fetchOne(file, 'stall=30000&times=1', { bodyTimeout: 300 });
    expectState(report, 'succeeded');
    expect(report.attempts).toBe(2);
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('retries a body shorter than its Content-Length and fails for good when it stays short', async () => {
    const file = await ctx.publish(80_000);
    const once = await fetchOne(file, 'drop=20000&times=1');
    expectState(once.report, 'succeeded');
    await expectWholeOrNothing(once.report, once.dest, once.folder, file.body);
    const always = await fetchOne(file, 'drop=20000', { retries: 1 });
    expectState(always.report, 'failed');
    await expectWholeOrNothing(always.report, always.dest, always.folder, file.body);
  });

  it('never writes more than Content-Length when the server sends extra bytes', async () => {
    const file = await ctx.publish(30_000);
    const { report, dest, folder } = await fetchOne(file, 'extra=5000');
    expectAllIn([report], 'succeeded', 'failed');
    await expectWholeOrNothing(report, dest, folder, file.body);
    if (report.state === 'succeeded') expect(report.bytesDownloaded).toBe(30_000);
  });

  it('honours Retry-After on 503, then succeeds', async () => {
    const file = await ctx.publish(10_000);
    const started = performance.now();
    const { report, dest, folder } = await fetchOne(file, 'status=503&retry-after=1&times=2', { retries: 3 });
    const seconds = (performance.now() - started) / 1000;
    expectState(report, 'succeeded');
    expect(report.attempts).toBe(3);
    expect(seconds).toBeGreaterThanOrEqual(1.9);
    expect(seconds).toBeLessThan(10);
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('rides out a flapping server (every second request fails)', async () => {
    const file = await ctx.publish(20_000);
    const folder = await ctx.folder();
    const reports = await ctx
      .downloader({ ...RETRY, maxConcurrent: 1 })
      .download(Array.from({ length: 6 }, (_, i) => new DownloadRequest(url(file, 'flap=2'), join(folder, `f${i}`))));
    expectStates(reports, Array(6).fill('succeeded'));
    expect(reports.some((r) => r.attempts > 1)).toBe(true);
  });

  it('does not retry a 404 or a 401', async () => {
    const file = await ctx.publish(100);
    const folder = await ctx.folder();
    const reports = await ctx.downloader(RETRY).download([
      new DownloadRequest(ctx.fixture.missingUrl('never-there'), join(folder, 'a')),
      new DownloadRequest(http.url(`/auth/files/${file.name}`), join(folder, 'b')),
    ]);
    expect(reports.map((r) => [r.state, r.attempts, r.errorReport.status]), reports.map(outcome).join('; ')).toEqual([
      ['failed', 1, 404],
      ['failed', 1, 401],
    ]);
  });

  it('fails malformed response headers without a file', async () => {
    const file = await ctx.publish(1000);
    const { report, dest, folder } = await fetchOne(file, 'malformed=1', { retries: 1 });
    expectState(report, 'failed');
    expect(report.errorReport.code).toBe('NECTAR_NETWORK');
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('restarts cleanly, never appending a second copy, when the server ignores ranges', async () => {
    const file = await ctx.publish(120_000);
    const { report, dest, folder } = await fetchOne(file, 'drop=40000&times=1&noranges=1');
    expectState(report, 'succeeded');
    expect(report.bytesDownloaded).toBe(120_000);
    await expectWholeOrNothing(report, dest, folder, file.body);
  });

  it('never writes a byte twice to a caller stream across a retry', async () => {
    if (!ctx.has('streamDestination')) return;
    const file = await ctx.publish(150_000);
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    const [report] = await ctx.downloader(RETRY).download([new DownloadRequest(url(file, 'drop=50000&times=1'), stream)]);
    const got = Buffer.concat(chunks);
    if (report?.state === 'succeeded') expectBytes(got, file.body);
    else {
      expect(report?.errorReport.code).toBe('NECTAR_RESUME');
      expect(got.equals(file.body.subarray(0, got.length))).toBe(true);
    }
    expect(stream.writableEnded).toBe(false);
    stream.end();
  });

  describe.runIf(ctx.has('resume'))('resume', () => {
    it('continues a retried download from the bytes already written (Range + If-Range)', async () => {
      const file = await ctx.publish(200_000);
      const { report, dest, folder } = await fetchOne(file, 'drop=60000&times=1');
      expectState(report, 'succeeded');
      const second = http.received.filter((r) => r.url.startsWith(`/files/${encodeURIComponent(file.name)}`))[1];
      expect(second?.headers.range).toBe('bytes=60000-');
      expect(second?.headers['if-range']).toBeTruthy();
      await expectWholeOrNothing(report, dest, folder, file.body);
    });

    it('resumes correctly under maxSpeed, where writes were still waiting when the body broke', async (t) => {
      if (!ctx.has('maxSpeed')) return t.skip('maxSpeed is not declared');
      const file = await ctx.publish(300_000);
      const { report, dest, folder } = await fetchOne(file, 'drop=150000&times=1', { maxSpeed: 1_500_000 });
      expectState(report, 'succeeded');
      expect(report.attempts).toBe(2);
      await expectWholeOrNothing(report, dest, folder, file.body);
    });

    it('keeps the part file with keepPartial and resumes it in a later run', async () => {
      const file = await ctx.publish(150_000);
      const folder = await ctx.folder();
      const dest = join(folder, 'kept.bin');
      const request = () => new DownloadRequest(url(file, 'drop=70000&times=1'), dest);
      const [first] = await ctx.downloader({ retries: 0, keepPartial: true }).download([request()]);
      expectState(first, 'failed');
      const kept = (await stat(partPath(dest))).size;
      expect(kept).toBeGreaterThan(0);
      // Not http.reset(): that would also restart the fixture's `times` count and drop again.
      const before = http.received.length;
      const [second] = await ctx.downloader({ retries: 0, keepPartial: true }).download([request()]);
      expectState(second, 'succeeded');
      expect(http.received[before]?.headers.range).toBe(`bytes=${kept}-`);
      expectBytes(await readFile(dest), file.body);
      expect(await ctx.leftovers(folder)).toEqual(['kept.bin']);
    });
  });

  describe.runIf(ctx.has('tls'))('bad certificates', () => {
    for (const certificate of ['expired', 'wrong-host'] as const) {
      let server: HttpFixture | undefined;
      beforeAll(async () => {
        server = httpFixture({ tls: true, certificate });
        await server.start();
      });
      afterAll(() => server?.stop());

      it(`fails a server with an ${certificate} certificate with NECTAR_TLS, without retrying`, async () => {
        const tls = await tlsMaterial();
        const file = await ctx.publish(100);
        const target = await server!.publish(file.name, file.body);
        const folder = await ctx.folder();
        const [report] = await ctx.downloader({ ...RETRY, sslCaCert: tls.ca.cert }).download([new DownloadRequest(target, join(folder, 'x'))]);
        expectState(report, 'failed');
        expect(report?.errorReport.code).toBe('NECTAR_TLS');
        expect(report?.attempts).toBe(1);
        expect(await ctx.leftovers(folder)).toEqual([]);
      });
    }
  });

  it('leaves no connection open once the downloader is closed', async () => {
    const file = await ctx.publish(50_000);
    const folder = await ctx.folder();
    const downloader = ctx.downloader(RETRY);
    await downloader.download([0, 1, 2].map((i) => new DownloadRequest(url(file, i === 1 ? 'reset=100&times=1' : 'x=1'), join(folder, `c${i}`))));
    await downloader.close();
    for (let i = 0; i < 50 && http.stats.openConnections > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(http.stats.openConnections).toBe(0);
  });
}
