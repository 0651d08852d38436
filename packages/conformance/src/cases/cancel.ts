import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import { expectState, expectStates } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { validSequence } from '../recorder.js';

/** Generous: a cancel must settle promptly, but CI machines are busy. */
const PROMPT_MS = 2_000;

/** cancel() and AbortSignals before, during and after a transfer. */
export function cancelCases(ctx: SuiteContext): void {
  it('cancels requests whose signal is already aborted: only downloadCanceled, nothing written', async () => {
    const file = await ctx.publish(1000);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded();
    const reports = await downloader.download([new DownloadRequest(file.url, join(folder, 'a'))], { signal: AbortSignal.abort() });
    expectStates(reports, []);
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'b'), { signal: AbortSignal.abort() })]);
    expectState(report, 'canceled');
    expect(events.sequence(report!)).toBe('C');
    expect(report?.startTime).toBeNull();
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('cancel() during a transfer settles promptly as canceled and leaves no file', async (t) => {
    const slow = await ctx.slow(2 * 1024 * 1024, 4);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded(slow.config);
    let canceledAt = 0;
    events.onEvent = (event, report) => {
      if (event === 'downloadProgress' && report.bytesDownloaded > 0 && canceledAt === 0) {
        canceledAt = performance.now();
        downloader.cancel();
      }
    };
    const [report] = await downloader.download([new DownloadRequest(slow.file.url, join(folder, 'c'))]);
    expectState(report, 'canceled');
    expect(performance.now() - canceledAt).toBeLessThan(PROMPT_MS);
    expect(events.sequence(report!)).toMatch(validSequence);
    expect(events.sequence(report!).endsWith('C')).toBe(true);
    expect(report?.errorReport).toEqual({});
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('stays usable after cancel(), and cancel() after the end changes nothing', async () => {
    const file = await ctx.publish(4096);
    const folder = await ctx.folder();
    const downloader = ctx.downloader();
    downloader.cancel();
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'd'))]);
    expectState(report, 'succeeded');
    downloader.cancel();
    expectState(report, 'succeeded');
    expect(await ctx.leftovers(folder)).toEqual(['d']);
  });

  it('aborts one download() call through its signal', async (t) => {
    const slow = await ctx.slow(2 * 1024 * 1024, 4);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const controller = new AbortController();
    const { downloader, events } = ctx.recorded(slow.config);
    events.onEvent = (event, report) => {
      if (event === 'downloadProgress' && report.bytesDownloaded > 0) controller.abort();
    };
    const started = performance.now();
    const [report] = await downloader.download([new DownloadRequest(slow.file.url, join(folder, 'e'))], { signal: controller.signal });
    expectState(report, 'canceled');
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it("cancels one request through its own signal while the others finish", async (t) => {
    const slow = await ctx.slow(2 * 1024 * 1024, 4);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const quick = await ctx.publish(2048);
    const folder = await ctx.folder();
    const controller = new AbortController();
    const { downloader, events } = ctx.recorded({ ...slow.config, maxConcurrent: 2 });
    events.onEvent = (event, report) => {
      if (event === 'downloadProgress' && report.data === 'slow' && report.bytesDownloaded > 0) controller.abort();
    };
    const reports = await downloader.download([
      new DownloadRequest(slow.file.url, join(folder, 'slow'), { data: 'slow', signal: controller.signal }),
      new DownloadRequest(quick.url, join(folder, 'quick'), { data: 'quick' }),
    ]);
    expectStates(reports, ['canceled', 'succeeded']);
    expect(await ctx.leftovers(folder)).toEqual(['quick']);
  });

  it('close() cancels what is in flight and then refuses new work', async (t) => {
    const slow = await ctx.slow(1024 * 1024, 4);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded(slow.config);
    let closing: Promise<void> | undefined;
    events.onEvent = (event, report) => {
      if (event === 'downloadProgress' && report.bytesDownloaded > 0) closing ??= downloader.close();
    };
    const [report] = await downloader.download([new DownloadRequest(slow.file.url, join(folder, 'f'))]);
    await closing;
    expectState(report, 'canceled');
    await expect(downloader.download([])).rejects.toMatchObject({ code: 'NECTAR_CLOSED' });
    await downloader.close();
    expect(await ctx.leftovers(folder)).toEqual([]);
  });
}
