import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import { expectAllIn } from '../outcome.js';
import type { SuiteContext } from '../context.js';

/** maxSpeed limits the whole downloader, every request together. */
export function speedCases(ctx: SuiteContext): void {
  it('holds maxSpeed for all concurrent requests together, within 15%', async (t) => {
    if (!ctx.has('maxSpeed')) return t.skip('maxSpeed is not declared');
    const rate = 1024 * 1024;
    const files = await Promise.all([ctx.publish(1024 * 1024), ctx.publish(1024 * 1024), ctx.publish(1024 * 1024)]);
    const folder = await ctx.folder();
    const started = performance.now();
    const reports = await ctx.downloader({ maxSpeed: rate, maxConcurrent: 3 }).download(files.map((f, i) => new DownloadRequest(f.url, join(folder, String(i)))));
    const seconds = (performance.now() - started) / 1000;
    expectAllIn(reports, 'succeeded');
    const expected = (3 * 1024 * 1024) / rate;
    expect(seconds).toBeGreaterThan(expected * 0.85);
    expect(seconds).toBeLessThan(expected * 1.15 + 0.3);
  });
}
