import type { DownloadReport } from '@nectar/core';
import { type Outcome, failureReason } from './outcome.js';

/** The running count of a run: what the total bar, the plain lines and the summary read. */
export class Tally {
  readonly startedAt = Date.now();
  readonly active = new Set<DownloadReport>();
  readonly failures: Array<{ url: string; reason: string }> = [];
  succeeded = 0;
  failed = 0;
  canceled = 0;
  skipped = 0;
  #settledBytes = 0;
  #settledTotal = 0;

  start(report: DownloadReport): void {
    this.active.add(report);
  }

  settle({ report, skipped }: Outcome): void {
    this.active.delete(report);
    if (skipped !== undefined) {
      this.skipped++;
      return;
    }
    this.#settledBytes += report.bytesDownloaded;
    this.#settledTotal += report.totalBytes ?? report.bytesDownloaded;
    if (report.state === 'succeeded') this.succeeded++;
    else if (report.state === 'canceled') this.canceled++;
    else {
      this.failed++;
      // Unmasked here: the summary is printed through the run's line writer, which masks.
      this.failures.push({ url: report.url, reason: failureReason(report.errorReport) });
    }
  }

  get settledCount(): number {
    return this.succeeded + this.failed + this.canceled + this.skipped;
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
