import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest, type DownloadReport } from '@nectar/core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import type { HttpFixture } from '../fixtures/http.js';
import { expectBytes, expectState, outcome } from '../outcome.js';

/** Inode and mtime: what any rewrite of a file changes, even with the same bytes. */
async function identity(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.ino}:${s.mtimeNs}`;
}

function expectOutcome(report: DownloadReport | undefined, expected: DownloadReport['outcome']): void {
  expect(report?.outcome, outcome(report)).toBe(expected);
}

const sha256 = (bytes: Uint8Array) => ({ algorithm: 'sha256', value: createHash('sha256').update(bytes).digest('hex') });

/**
 * The report's `outcome` and what a state store (config.state) does for every backend: a
 * trusted digest skips the request, a known copy is reused. Over HTTP also conditional requests,
 * checked from the server's side.
 */
export function resyncCases(ctx: SuiteContext, http: HttpFixture | null): void {
  it("reports outcome 'downloaded' for a fresh download, in toJSON too, and null for a failure", async () => {
    const file = await ctx.publish(2000);
    const folder = await ctx.folder();
    const [ok, failed] = await ctx.downloader().download([
      new DownloadRequest(file.url, join(folder, 'a.bin')),
      new DownloadRequest(ctx.fixture.missingUrl(), join(folder, 'b.bin')),
    ]);
    expectState(ok, 'succeeded');
    expectOutcome(ok, 'downloaded');
    expect(ok?.toJSON().outcome).toBe('downloaded');
    expectState(failed, 'failed');
    expect(failed?.outcome).toBeNull();
  });

  describe.runIf(ctx.has('state'))('with a state store', () => {
  it("with a state store, a recorded copy of the expected digest is 'unchanged' without a transfer, and the file is not rewritten", async () => {
    const file = await ctx.publish(3000);
    const folder = await ctx.folder();
    const path = join(folder, 'kept.bin');
    const config = { state: join(folder, 'state.db') };
    const request = () => new DownloadRequest(file.url, path, { expectedDigest: sha256(file.body) });
    const [first] = await ctx.downloader(config).download([request()]);
    expectOutcome(first, 'downloaded');
    const before = await identity(path);
    const [second] = await ctx.downloader(config).download([request()]);
    expectState(second, 'succeeded');
    expectOutcome(second, 'unchanged');
    expect(second?.attempts).toBe(0);
    expect(await identity(path)).toBe(before);
  });

  it("with a state store, a known copy of the same bytes is 'reused' for another destination", async () => {
    const file = await ctx.publish(2500);
    const folder = await ctx.folder();
    const config = { state: join(folder, 'state.db') };
    const expectedDigest = sha256(file.body);
    await ctx.downloader(config).download([new DownloadRequest(file.url, join(folder, 'one.bin'), { expectedDigest })]);
    const [report] = await ctx.downloader(config).download([new DownloadRequest(file.url, join(folder, 'two.bin'), { expectedDigest })]);
    expectOutcome(report, 'reused');
    expect(report?.attempts).toBe(0);
    expectBytes(await readFile(join(folder, 'two.bin')), file.body);
  });
  });

  describe.runIf(http !== null && ctx.has('state'))('conditional requests (HTTP)', () => {
    const server = http as HttpFixture;
    const seen = (name: string) => server.received.filter((r) => r.url.endsWith(`/${name}`));

    it("asks again with If-None-Match; a 304 is 'unchanged' and leaves the file as it was", async () => {
      const file = await ctx.publish(4000);
      const folder = await ctx.folder();
      const path = join(folder, 'c.bin');
      const config = { state: join(folder, 'state.db') };
      await ctx.downloader(config).download([new DownloadRequest(file.url, path)]);
      const before = await identity(path);
      const [report] = await ctx.downloader(config).download([new DownloadRequest(file.url, path)]);
      expectState(report, 'succeeded');
      expectOutcome(report, 'unchanged');
      const [firstAsk, secondAsk] = seen(file.name);
      expect(firstAsk?.headers['if-none-match']).toBeUndefined();
      expect(secondAsk?.headers['if-none-match']).toMatch(/^"/);
      expect(report?.bytesDownloaded).toBe(0);
      expect(await identity(path)).toBe(before);
    });

    it("downloads a file changed on the server again ('downloaded', new bytes)", async () => {
      const file = await ctx.publish(4000);
      const folder = await ctx.folder();
      const path = join(folder, 'd.bin');
      const config = { state: join(folder, 'state.db') };
      await ctx.downloader(config).download([new DownloadRequest(file.url, path)]);
      const changed = Buffer.from('a new version, of another size');
      await server.publish(file.name, changed);
      const [report] = await ctx.downloader(config).download([new DownloadRequest(file.url, path)]);
      expectOutcome(report, 'downloaded');
      expectBytes(await readFile(path), changed);
    });
  });
}

/** config.afterHeaders: called on the head of an answer, before any byte is written, for every backend. */
export function afterHeadersCases(ctx: SuiteContext): void {
  if (!ctx.has('afterHeaders')) {
    // Said in the summary, and a describe with no case at all is an error for vitest.
    it.skip('afterHeaders is not declared in supports, so its cases are skipped', () => {});
    return;
  }
  it('is called before any byte is written, and may commit the file under another name', async () => {
    const file = await ctx.publish(5000);
    const folder = await ctx.folder();
    const seen: Array<{ bytes: number; files: string[]; total: number | null }> = [];
    const downloader = ctx.downloader({
      afterHeaders: async ({ report, totalBytes }) => {
        seen.push({ bytes: report.bytesDownloaded, files: await ctx.leftovers(folder), total: totalBytes });
        return { destination: 'chosen.bin' };
      },
    });
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'asked.bin'))]);
    expectState(report, 'succeeded');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.bytes).toBe(0);
    expect(seen[0]?.total).toBe(5000);
    expect(await ctx.leftovers(folder)).toEqual(['chosen.bin']);
    expectBytes(await readFile(join(folder, 'chosen.bin')), file.body);
  });

  it("may skip the request: it ends 'canceled' with nothing written", async () => {
    const file = await ctx.publish(3000);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded({ afterHeaders: () => ({ skip: true }) });
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'skipped.bin'))]);
    expectState(report, 'canceled');
    expect(report?.outcome).toBeNull();
    expect(events.sequence(report!)).toMatch(/^S.*C$/);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('fails the request when it throws (NECTAR_REFUSED), nothing written', async () => {
    const file = await ctx.publish(3000);
    const folder = await ctx.folder();
    const downloader = ctx.downloader({
      afterHeaders: () => {
        throw new Error('not this one');
      },
    });
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'refused.bin'))]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_REFUSED');
    expect(String(report?.errorReport.message)).toContain('not this one');
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('refuses a chosen name that poses as a part file', async () => {
    const file = await ctx.publish(1000);
    const folder = await ctx.folder();
    const downloader = ctx.downloader({ afterHeaders: () => ({ destination: '.x.bin.nectar-part' }) });
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'x.bin'))]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_REFUSED');
    expect(await ctx.leftovers(folder)).toEqual([]);
  });
}
