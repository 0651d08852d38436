import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core/backend';
import { expect, it } from 'vitest';
import { expectBytes, expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';

/**
 * `config.segments`: core splits a large file into ranges where the backend declares `ranges`
 * (it must then serve exactly the bytes a job's `range` names); elsewhere it is only a hint, and
 * the file comes whole.
 */
const MiB = 1024 * 1024;

export function rangeCases(ctx: SuiteContext): void {
  it('fetches a file large enough for two segments whole and verified with segments: 2', async (t) => {
    if (!ctx.has('ranges')) return t.skip('ranges is not declared: segments are a hint the next case covers');
    // 1 MiB segments (config.minSegmentSize's floor): the same split as 32 MiB ones, in a fraction of the time.
    const file = await ctx.publish(2 * MiB + 1);
    const value = createHash('sha256').update(file.body).digest('hex');
    const folder = await ctx.folder();
    const dest = join(folder, 'split.bin');
    const [report] = await ctx.downloader({ segments: 2, minSegmentSize: MiB }).download([new DownloadRequest(file.url, dest, { expectedDigest: { algorithm: 'sha256', value } })]);
    expectState(report, 'succeeded');
    expect(report?.bytesDownloaded).toBe(file.body.length);
    expectBytes(await readFile(dest), file.body);
    // No part file, sidecar or lock of a segment is left beside it.
    expect(await ctx.leftovers(folder)).toEqual(['split.bin']);
  });

  it('treats segments as a hint: a small file (or a backend without ranges) comes whole', async () => {
    const file = await ctx.publish(100_000);
    const folder = await ctx.folder();
    const [report] = await ctx.downloader({ segments: 4 }).download([new DownloadRequest(file.url, join(folder, 'whole.bin'))]);
    expectState(report, 'succeeded');
    expectBytes(await readFile(join(folder, 'whole.bin')), file.body);
  });
}
