import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { DownloadRequest, partPath } from '@nectar/core/backend';
import { expect, it } from 'vitest';
import { expectState, expectStates, outcome } from '../outcome.js';
import type { SuiteContext } from '../context.js';

/** Collects what a caller's stream receives, without ever being ended by the downloader. */
function collector(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, bytes: () => Buffer.concat(chunks) };
}

/** Atomic path destinations, caller-owned streams, and destinations that cannot work. */
export function destinationCases(ctx: SuiteContext): void {
  it('writes a path through a part file: the destination appears only when complete', async (t) => {
    const slow = await ctx.slow(256 * 1024, 1);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const dest = join(folder, 'atomic.bin');
    const { downloader, events } = ctx.recorded(slow.config);
    const seen: Array<{ dest: boolean; part: boolean }> = [];
    events.onEvent = (event, report) => {
      if (event === 'downloadProgress' && report.state === 'downloading' && report.bytesDownloaded > 0) {
        seen.push({ dest: existsSync(dest), part: existsSync(partPath(dest)) });
      }
    };
    const [report] = await downloader.download([new DownloadRequest(slow.file.url, dest)]);
    expectState(report, 'succeeded');
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((s) => !s.dest)).toBe(true);
    expect(await readFile(dest)).toEqual(slow.file.body);
    expect(await ctx.leftovers(folder)).toEqual(['atomic.bin']);
  });

  it('leaves an existing destination untouched when the download fails', async () => {
    const folder = await ctx.folder();
    const dest = join(folder, 'keep.txt');
    await writeFile(dest, 'previous content');
    const [report] = await ctx.downloader().download([new DownloadRequest(ctx.fixture.missingUrl('gone'), dest)]);
    expectState(report, 'failed');
    expect(await readFile(dest, 'utf8')).toBe('previous content');
    expect(await ctx.leftovers(folder)).toEqual(['keep.txt']);
  });

  it('replaces an existing destination when the download succeeds', async () => {
    const file = await ctx.publish(5000);
    const folder = await ctx.folder();
    const dest = join(folder, 'replace.bin');
    await writeFile(dest, 'old');
    const [report] = await ctx.downloader().download([new DownloadRequest(file.url, dest)]);
    expectState(report, 'succeeded');
    expect(await readFile(dest)).toEqual(file.body);
  });

  it('fails a destination in a missing folder, or one that is a folder, naming it', async () => {
    const file = await ctx.publish(100);
    const folder = await ctx.folder();
    await mkdir(join(folder, 'a-dir'));
    const reports = await ctx.downloader().download([
      new DownloadRequest(file.url, join(folder, 'no', 'such', 'dir', 'f')),
      new DownloadRequest(file.url, join(folder, 'a-dir')),
    ]);
    for (const report of reports) {
      expectState(report, 'failed');
      expect(report.errorReport.code).toBe('NECTAR_DESTINATION');
      expect(String(report.errorReport.message)).toContain(folder);
    }
    expect(await ctx.leftovers(folder)).toEqual(['a-dir']);
    expect(await ctx.leftovers(join(folder, 'a-dir'))).toEqual([]);
  });

  it('fails a destination in a folder it cannot write to, naming it', async () => {
    const file = await ctx.publish(100);
    const folder = await ctx.folder();
    const locked = join(folder, 'locked');
    await mkdir(locked, { mode: 0o555 });
    // root writes anywhere it has a mode bit for, but not into sysfs.
    const target = process.getuid?.() === 0 ? '/sys/nectar-conformance-readonly' : join(locked, 'f');
    const [report] = await ctx.downloader().download([new DownloadRequest(file.url, target)]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_DESTINATION');
    expect(String(report?.errorReport.message)).toContain(target);
    expect(await ctx.leftovers(locked)).toEqual([]);
  });

  it('fails the second of two requests in flight with the same destination', async (t) => {
    const slow = await ctx.slow(128 * 1024, 0.5);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const dest = join(folder, 'same');
    const reports = await ctx.downloader({ ...slow.config, maxConcurrent: 2 }).download([
      new DownloadRequest(slow.file.url, dest),
      new DownloadRequest(slow.file.url, dest),
    ]);
    expect(reports.map((r) => r.state).sort(), reports.map(outcome).join('; ')).toEqual(['failed', 'succeeded']);
    expect(reports.find((r) => r.state === 'failed')?.errorReport.code).toBe('NECTAR_DUPLICATE_DESTINATION');
    expect(await readFile(dest)).toEqual(slow.file.body);
  });

  it('writes to a caller stream and never ends it, on success or failure', async (t) => {
    if (!ctx.has('streamDestination')) return t.skip('streamDestination is not declared');
    const file = await ctx.publish(100_000);
    const good = collector();
    const bad = collector();
    const reports = await ctx.downloader().download([
      new DownloadRequest(file.url, good.stream),
      new DownloadRequest(ctx.fixture.missingUrl('missing-stream'), bad.stream),
    ]);
    expectStates(reports, ['succeeded', 'failed']);
    expect(good.bytes()).toEqual(file.body);
    for (const { stream } of [good, bad]) {
      expect(stream.writableEnded).toBe(false);
      expect(stream.destroyed).toBe(false);
    }
    expect(JSON.parse(JSON.stringify(reports[0])).destination).toBe('[stream]');
    good.stream.end();
    bad.stream.end();
  });

  it('fails a request whose stream destination errors, without destroying it', async (t) => {
    if (!ctx.has('streamDestination')) return t.skip('streamDestination is not declared');
    const file = await ctx.publish(300_000);
    const stream = new PassThrough({ highWaterMark: 1024 });
    stream.on('error', () => {});
    let broke = false;
    stream.on('data', () => {
      if (!broke) {
        broke = true;
        stream.emit('error', new Error('disk full (simulated by the caller)'));
      }
    });
    const [report] = await ctx.downloader().download([new DownloadRequest(file.url, stream)]);
    expectState(report, 'failed');
    expect(String(report?.errorReport.message)).toContain('disk full');
    stream.destroy();
  });
}
