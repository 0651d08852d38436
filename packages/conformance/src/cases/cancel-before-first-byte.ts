import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type DownloadReport, DownloadRequest } from '@nectar/core';
import { expect, it } from 'vitest';
import type { SuiteContext } from '../context.js';
import { expectState, expectStates, outcome } from '../outcome.js';
import { type EventRecorder, validSequence } from '../recorder.js';

/** Generous: a cancel must settle promptly, but CI machines are busy. */
const PROMPT_MS = 2_000;
/** Short of the suggested 30 s testTimeout: a downloader that never hears the cancel fails an assertion, not the runner. */
const HEADERS_TIMEOUT_MS = 10_000;
const SKIP_REASON = 'needs fixture.silentUrl (a server that takes a request and never answers)';

/**
 * Cancels while the request waits for its first byte: sent, nothing back. Core can cut a body
 * short itself, but before the response only the backend can drop the wait, so a backend that
 * ignores the signal there holds a slot (and the caller) until some timeout.
 */
export function cancelBeforeFirstByteCases(ctx: SuiteContext): void {
  it('cancel() while a request waits for its first byte settles promptly as canceled', async (t) => {
    const url = ctx.fixture.silentUrl?.();
    if (url === undefined) return t.skip(SKIP_REASON);
    const folder = await ctx.folder();
    const { downloader, events } = ctx.recorded({ headersTimeout: HEADERS_TIMEOUT_MS });
    const before = ctx.fixture.stats?.inFlight ?? 0;
    const settled = downloader.download([new DownloadRequest(url, join(folder, 'waiting'))]);
    await requestArrived(ctx, events, before, settled);
    const canceledAt = performance.now();
    downloader.cancel();
    const [report] = await settled;
    expectPrompt(canceledAt, performance.now(), report);
    expectState(report, 'canceled');
    expect(events.sequence(report!)).toMatch(validSequence);
    expect(await ctx.leftovers(folder)).toEqual([]);
    await serverLetGo(ctx, before);
  });

  it("a request's own signal, aborted before its first byte, cancels it promptly while the others finish", async (t) => {
    const url = ctx.fixture.silentUrl?.();
    if (url === undefined) return t.skip(SKIP_REASON);
    const quick = await ctx.publish(2048);
    const folder = await ctx.folder();
    const controller = new AbortController();
    const { downloader, events } = ctx.recorded({ headersTimeout: HEADERS_TIMEOUT_MS, maxConcurrent: 2 });
    let canceledAt = 0;
    events.onEvent = (event) => {
      if (event === 'downloadCanceled') canceledAt = performance.now();
    };
    const before = ctx.fixture.stats?.inFlight ?? 0;
    const settled = downloader.download([
      new DownloadRequest(url, join(folder, 'waiting'), { signal: controller.signal }),
      new DownloadRequest(quick.url, join(folder, 'quick')),
    ]);
    await requestArrived(ctx, events, before, settled);
    const abortedAt = performance.now();
    controller.abort();
    const reports = await settled;
    expectPrompt(abortedAt, canceledAt || performance.now(), reports[0]);
    expectStates(reports, ['canceled', 'succeeded']);
    expect(await ctx.leftovers(folder)).toEqual(['quick']);
  });
}

function expectPrompt(from: number, to: number, report: DownloadReport | undefined): void {
  const took = Math.round(to - from);
  expect(took, `settled ${took} ms after the cancel, as ${outcome(report)}`).toBeLessThan(PROMPT_MS);
}

/**
 * Waits until the server holds the request, so that the cancel comes after it was sent: by the
 * fixture's own count when it keeps one, else a moment after downloadStarted. A download that
 * settles first (it never sent the request) fails the case with its outcome.
 */
async function requestArrived(ctx: SuiteContext, events: EventRecorder, before: number, settled: Promise<DownloadReport[]>): Promise<void> {
  let reports: DownloadReport[] | undefined;
  // Only watched here: the case itself awaits `settled`, and sees any rejection there.
  settled.then(
    (r) => {
      reports = r;
    },
    () => {},
  );
  const stats = ctx.fixture.stats;
  const arrived = stats === undefined ? () => events.events.some((e) => e.event === 'downloadStarted') : () => stats.inFlight > before;
  await until(() => arrived() || reports !== undefined, 'the request never reached the fixture');
  if (reports !== undefined) expect.fail(`settled before the server had the request, as ${reports.map(outcome).join('; ')}`);
  if (stats === undefined) await sleep(300);
}

/** A canceled request must also release the server: no socket left waiting for an answer. */
async function serverLetGo(ctx: SuiteContext, before: number): Promise<void> {
  const stats = ctx.fixture.stats;
  if (stats === undefined) return;
  await until(() => stats.inFlight <= before, `the server still held the request ${PROMPT_MS} ms after the cancel`, PROMPT_MS);
}

async function until(condition: () => boolean, failure: string, ms = 5_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) expect.fail(failure);
    await sleep(10);
  }
}
