import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import { expectState, expectStates } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { validSequence } from '../recorder.js';

/** States, events, bytes, times and data of requests that succeed and fail. */
export function lifecycleCases(ctx: SuiteContext): void {
  it('downloads a file byte for byte and reports it succeeded', async () => {
    const file = await ctx.publish(200_000);
    const folder = await ctx.folder();
    const data = { id: 42, nested: ['passthrough'] };
    const { downloader } = ctx.recorded();
    const before = Date.now();
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'a.bin'), { data })]);
    expectState(report, 'succeeded');
    expect(await readFile(join(folder, 'a.bin'))).toEqual(file.body);
    expect(report?.url).toBe(file.url);
    expect(report?.data).toBe(data);
    expect(report?.bytesDownloaded).toBe(file.body.length);
    expect(report?.totalBytes).toBe(file.body.length);
    expect(report?.errorReport).toEqual({});
    expect(report?.startTime).toBeInstanceOf(Date);
    expect(report?.finishTime).toBeInstanceOf(Date);
    expect(report!.startTime!.getTime()).toBeGreaterThanOrEqual(before - 1);
    expect(report!.finishTime!.getTime()).toBeGreaterThanOrEqual(report!.startTime!.getTime());
    expect(report!.finishTime!.getTime()).toBeLessThanOrEqual(Date.now() + 1);
    expect(await ctx.leftovers(folder)).toEqual(['a.bin']);
  });

  it('fires started, headers?, progress (at least once) and exactly one succeeded, in that order', async () => {
    const file = await ctx.publish(300_000);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded();
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'b.bin'))]);
    const sequence = events.sequence(report!);
    expect(sequence).toMatch(validSequence);
    expect(sequence.endsWith('D')).toBe(true);
    expect(events.of(report!).every((e) => e.report === report)).toBe(true);
    const progress = events.of(report!).filter((e) => e.event === 'downloadProgress');
    for (let i = 1; i < progress.length; i++) {
      expect(progress[i]!.bytesDownloaded).toBeGreaterThanOrEqual(progress[i - 1]!.bytesDownloaded);
    }
    expect(progress.at(-1)?.bytesDownloaded).toBe(file.body.length);
    const states = events.of(report!).map((e) => e.state);
    expect(states[0]).toBe('downloading');
    expect(states.at(-1)).toBe('succeeded');
  });

  it('reports a zero-byte file with one progress event and an empty file', async () => {
    const file = await ctx.publish(0);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded();
    const [report] = await downloader.download([new DownloadRequest(file.url, join(folder, 'empty'))]);
    expectState(report, 'succeeded');
    expect(report?.bytesDownloaded).toBe(0);
    expect(events.sequence(report!)).toMatch(validSequence);
    expect((await readFile(join(folder, 'empty'))).length).toBe(0);
  });

  it('fails a missing file with an errorReport, leaving nothing at the destination', async () => {
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded();
    const [report] = await downloader.download([new DownloadRequest(ctx.fixture.missingUrl('nope.bin'), join(folder, 'nope.bin'))]);
    expectState(report, 'failed');
    expect(typeof report?.errorReport.message).toBe('string');
    expect(report?.errorReport.code).toMatch(/^NECTAR_/);
    expect(report?.errorReport.url).toBe(report?.url);
    expect(events.sequence(report!)).toMatch(/^S[HP]*PF$/);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('fails an unreachable source without rejecting download()', async () => {
    const folder = await ctx.folder();
    const [report] = await ctx.downloader({ connectTimeout: 5_000 }).download([new DownloadRequest(ctx.fixture.unreachableUrl(), join(folder, 'x'))]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toMatch(/^NECTAR_/);
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('settles a mixed batch with one terminal event per request, reports in request order', async () => {
    const files = await Promise.all([ctx.publish(1000), ctx.publish(2000), ctx.publish(3000)]);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded({ maxConcurrent: 2 });
    const requests = [
      new DownloadRequest(files[0]!.url, join(folder, '0'), { data: 0 }),
      new DownloadRequest(ctx.fixture.missingUrl('missing-1'), join(folder, '1'), { data: 1 }),
      new DownloadRequest(files[1]!.url, join(folder, '2'), { data: 2 }),
      new DownloadRequest(files[2]!.url, join(folder, '3'), { data: 3 }),
    ];
    const reports = await downloader.download(requests);
    expect(reports.map((r) => r.data)).toEqual([0, 1, 2, 3]);
    expectStates(reports, ['succeeded', 'failed', 'succeeded', 'succeeded']);
    for (const report of reports) expect(events.sequence(report)).toMatch(validSequence);
    expect(await ctx.leftovers(folder)).toEqual(['0', '2', '3']);
  });

  it('keeps downloading when a listener throws', async () => {
    const file = await ctx.publish(50_000);
    const folder = await ctx.folder();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const angry = {
        downloadStarted() {
          throw new Error('listener bug');
        },
        downloadProgress() {
          return Promise.reject(new Error('async listener bug'));
        },
      };
      const [report] = await ctx.downloader({}, angry).download([new DownloadRequest(file.url, join(folder, 'c'))]);
      expectState(report, 'succeeded');
      expect(await readFile(join(folder, 'c'))).toEqual(file.body);
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.some((w) => w.includes('listener bug'))).toBe(true);
  });

  it('gives reports that round-trip through JSON, dates as ISO strings', async () => {
    const file = await ctx.publish(10);
    const folder = await ctx.folder();
    const request = new DownloadRequest(file.url, join(folder, 'j'), { data: { tag: 'x' } });
    expect(DownloadRequest.from(JSON.parse(JSON.stringify(request)))).toEqual(request);
    const [report] = await ctx.downloader().download([request]);
    const json = JSON.parse(JSON.stringify(report));
    expect(json).toMatchObject({ url: file.url, destination: join(folder, 'j'), data: { tag: 'x' }, state: 'succeeded', bytesDownloaded: 10 });
    expect(new Date(json.startTime).toISOString()).toBe(json.startTime);
    expect(new Date(json.finishTime).toISOString()).toBe(json.finishTime);
  });

  it('yields each report from stream() as it settles', async () => {
    const files = await Promise.all([ctx.publish(100), ctx.publish(200), ctx.publish(300)]);
    const folder = await ctx.folder();
    const seen: string[] = [];
    const downloader = ctx.downloader({ maxConcurrent: 2 });
    for await (const report of downloader.stream(files.map((f, i) => new DownloadRequest(f.url, join(folder, String(i)))))) {
      expectState(report, 'succeeded');
      seen.push(report.url);
    }
    expect(seen.sort()).toEqual(files.map((f) => f.url).sort());
  });

  it('accepts an async iterable of requests and plain request objects', async () => {
    const file = await ctx.publish(1234);
    const folder = await ctx.folder();
    async function* requests() {
      yield new DownloadRequest(file.url, join(folder, 'a'));
      yield { url: file.url, destination: join(folder, 'b') };
    }
    const reports = await ctx.downloader().download(requests());
    expectStates(reports, ['succeeded', 'succeeded']);
    expect(await readFile(join(folder, 'b'))).toEqual(file.body);
  });
}
