import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import { expectAllIn } from '../outcome.js';
import type { SuiteContext } from '../context.js';

/** Lazy consumption of the request list and the maxConcurrent bound. */
export function iterationCases(ctx: SuiteContext): void {
  it('reads a generator of 100,000 requests no further ahead than maxConcurrent', async () => {
    const file = await ctx.publish(64);
    const folder = await ctx.folder();
    const maxConcurrent = 4;
    const controller = new AbortController();
    let pulled = 0;
    let settled = 0;
    let worstLead = 0;
    function* requests() {
      for (let i = 0; i < 100_000; i++) {
        pulled++;
        worstLead = Math.max(worstLead, pulled - settled);
        yield new DownloadRequest(file.url, join(folder, `f${i}`));
      }
    }
    const downloader = ctx.downloader({ maxConcurrent }, {
      downloadSucceeded() {
        if (++settled === 40) controller.abort();
      },
      downloadFailed() {
        settled++;
      },
    });
    const reports = await downloader.download(requests(), { signal: controller.signal });
    expect(worstLead).toBeLessThanOrEqual(maxConcurrent);
    expect(pulled).toBeLessThanOrEqual(40 + maxConcurrent);
    expect(reports.length).toBe(pulled);
    // Over several connections request 39 may still be in flight when request 40 completes.
    expect(reports.filter((r) => r.state === 'succeeded').length).toBeGreaterThanOrEqual(40);
    expectAllIn(reports, 'succeeded', 'canceled');
  });

  it('never has more than maxConcurrent requests in flight, and does use them', async (t) => {
    const slow = await ctx.slow(64 * 1024, 0.4);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const maxConcurrent = 3;
    // With a shared maxSpeed the bound still holds; each file then just takes longer.
    const { downloader, events } = ctx.recorded({ ...slow.config, maxConcurrent, ...(slow.config.maxSpeed ? { maxSpeed: slow.config.maxSpeed * maxConcurrent } : {}) });
    ctx.fixture.stats?.reset();
    const reports = await downloader.download(Array.from({ length: 9 }, (_, i) => new DownloadRequest(slow.file.url, join(folder, `c${i}`))));
    expectAllIn(reports, 'succeeded');
    expect(events.peakInFlight).toBe(maxConcurrent);
    if (ctx.fixture.stats !== undefined) {
      expect(ctx.fixture.stats.peakInFlight).toBeLessThanOrEqual(maxConcurrent);
      expect(ctx.fixture.stats.peakInFlight).toBeGreaterThanOrEqual(2);
    }
  });

  it('shares one bound between overlapping download() calls', async (t) => {
    const slow = await ctx.slow(32 * 1024, 0.3);
    if (slow === null) return t.skip('needs fixture.slowUrl or the maxSpeed capability');
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded({ ...slow.config, maxConcurrent: 2, ...(slow.config.maxSpeed ? { maxSpeed: slow.config.maxSpeed * 2 } : {}) });
    const batch = (prefix: string) => Array.from({ length: 3 }, (_, i) => new DownloadRequest(slow.file.url, join(folder, `${prefix}${i}`)));
    const [a, b] = await Promise.all([downloader.download(batch('a')), downloader.download(batch('b'))]);
    expectAllIn([...a!, ...b!], 'succeeded');
    expect(events.peakInFlight).toBeLessThanOrEqual(2);
  });

  it('stops reading requests when a stream() consumer breaks out', async () => {
    const file = await ctx.publish(32);
    const folder = await ctx.folder();
    let pulled = 0;
    function* requests() {
      for (let i = 0; i < 100_000; i++) {
        pulled++;
        yield new DownloadRequest(file.url, join(folder, `s${i}`));
      }
    }
    let seen = 0;
    for await (const report of ctx.downloader({ maxConcurrent: 2 }).stream(requests())) {
      expectAllIn([report], 'succeeded', 'canceled');
      if (++seen === 10) break;
    }
    expect(pulled).toBeLessThan(10 + 2 * 2 + 2);
  });
}
