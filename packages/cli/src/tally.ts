import type { DownloadReport } from '@nectar/core';
import { EXIT, type ExitStatus, exitStatusOf, worstOf } from './exit-codes.js';
import { type Outcome, failureReason } from './outcome.js';

/** How many failures the summary repeats. */
export const LISTED_FAILURES = 100;

/** The running count of a run: what the total bar, the plain lines and the summary read. */
export class Tally {
  readonly startedAt = Date.now();
  readonly active = new Set<DownloadReport>();
  /**
   * The first failures, for the summary. Capped: a list of a million dead links must not hold a
   * million reasons in memory (each was printed as it happened, and --json has them all).
   */
  readonly failures: Array<{ url: string; reason: string }> = [];
  /** Failures beyond those kept. */
  unlistedFailures = 0;
  succeeded = 0;
  failed = 0;
  canceled = 0;
  skipped = 0;
  /** -N: files the server said had not changed (304). */
  unchanged = 0;
  /** The exit status the failures so far call for (exit-codes.ts). */
  status: ExitStatus = EXIT.ok;
  #settledBytes = 0;
  #settledTotal = 0;

  start(report: DownloadReport): void {
    this.active.add(report);
  }

  settle({ report, skipped }: Outcome): void {
    this.active.delete(report);
    if (skipped !== undefined) {
      if (skipped === 'unchanged') this.unchanged++;
      else this.skipped++;
      return;
    }
    this.#settledBytes += report.bytesDownloaded;
    this.#settledTotal += report.totalBytes ?? report.bytesDownloaded;
    if (report.state === 'succeeded') this.succeeded++;
    else if (report.state === 'canceled') {
      this.canceled++;
      this.status = worstOf(this.status, EXIT.failed);
    } else {
      this.failed++;
      this.status = worstOf(this.status, exitStatusOf(report));
      // Unmasked here: the summary is printed through the run's line writer, which masks.
      if (this.failures.length < LISTED_FAILURES) this.failures.push({ url: report.url, reason: failureReason(report) });
      else this.unlistedFailures++;
    }
  }

  get settledCount(): number {
    return this.succeeded + this.failed + this.canceled + this.skipped + this.unchanged;
  }

  /** Bytes written so far, by finished and running downloads. */
  get bytes(): number {
    let bytes = this.#settledBytes;
    for (const report of this.active) bytes += report.bytesDownloaded;
    return bytes;
  }

  /** The size of everything started so far; null while a running download's size is unknown. */
  get totalBytes(): number | null {
    let total = this.#settledTotal;
    for (const report of this.active) {
      if (report.totalBytes === null) return null;
      total += report.totalBytes;
    }
    return total;
  }

  get elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
