import type { DownloadReport, DownloadState } from '@nectar/core';
import { expect } from 'vitest';

/**
 * One report as a failed assertion should show it: the state and, for a failure, the code,
 * status and message the downloader gave. "expected 'failed' to be 'succeeded'" alone sends
 * the implementor to a debugger; the error it produced usually says what is wrong.
 */
export function outcome(report: DownloadReport | undefined): string {
  if (report === undefined) return 'no report';
  const { code, status, message } = report.errorReport;
  const parts: string[] = [report.state];
  if (code !== undefined) parts.push(String(code));
  if (status !== undefined) parts.push(`HTTP ${String(status)}`);
  if (message !== undefined) parts.push(JSON.stringify(message));
  return `${parts.join(' ')} (${report.url})`;
}

/** Checks a report's state; a mismatch names the error the downloader reported. */
export function expectState(report: DownloadReport | undefined, state: DownloadState): void {
  expect(report?.state, outcome(report)).toBe(state);
}

/** Checks every report's state, in order; a mismatch lists each report's outcome. */
export function expectStates(reports: ReadonlyArray<DownloadReport | undefined>, states: readonly DownloadState[]): void {
  expect(
    reports.map((r) => r?.state),
    reports.map(outcome).join('; '),
  ).toEqual(states);
}

/** Checks that every report ended in one of `states`, listing the outcomes of those that did not. */
export function expectAllIn(reports: readonly DownloadReport[], ...states: DownloadState[]): void {
  const others = reports.filter((r) => !states.includes(r.state));
  expect(others.map(outcome), `reports not ${states.join(' or ')}`).toEqual([]);
}

/** Compares downloaded bytes with what was published, saying how they differ. */
export function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  const same = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(expected);
  const at = same ? -1 : firstDifference(actual, expected);
  expect(same, `${actual.byteLength} bytes written, ${expected.byteLength} published, first difference at byte ${at}`).toBe(true);
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}
