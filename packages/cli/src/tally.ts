import type { DownloadOutcome, DownloadReport } from '@nectar/core';
import { EXIT, type ExitStatus, exitStatusOf, worstOf } from './exit-codes.js';
import { type Outcome, failureReason } from './outcome.js';
import { RunningDownload } from './running.js';

/** How many failures the summary repeats. */
export const LISTED_FAILURES = 100;

/** The running count of a run: what the total bar, the plain lines and the summary read. */
export class Tally {
  readonly startedAt = Date.now();
  /** Downloads in flight, in the order they started. */
  readonly active = new Map<DownloadReport, RunningDownload>();
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
  /** Succeeded files by how they got their bytes (report.outcome), and those bytes. */
  readonly outcomes: Record<DownloadOutcome, { files: number; bytes: number }> = {
    downloaded: { files: 0, bytes: 0 },
    resumed: { files: 0, bytes: 0 },
    unchanged: { files: 0, bytes: 0 },
    reused: { files: 0, bytes: 0 },
  };
  /** URLs read so far (command line and list): the run's size as far as it is known. */
  known = 0;
  /** Whether more URLs may come (a list not read to its end). */
  moreToCome = false;
  /** The exit status the failures so far call for (exit-codes.ts). */
  status: ExitStatus = EXIT.ok;
  #settledMoved = 0;

  start(report: DownloadReport): RunningDownload {
    const running = new RunningDownload(report);
    this.active.set(report, running);
    return running;
  }

  /** The download of this report, while it runs. */
  running(report: DownloadReport): RunningDownload | undefined {
    return this.active.get(report);
  }

  /** Reads every running download's bytes (at each redraw and plain line). */
  observe(now = Date.now()): void {
    for (const running of this.active.values()) running.observe(now);
  }

  /**
   * The current rate of all downloads together: the sum of the running ones' rates. A meter over
   * the run's total would still hold the bytes of downloads that just ended, and promise the last
   * one an ETA it cannot keep.
   */
  get rate(): number {
    let rate = 0;
    for (const running of this.active.values()) rate += running.meter.bytesPerSecond;
    return rate;
  }

  settle({ report, skipped }: Outcome): void {
    const running = this.active.get(report);
    this.active.delete(report);
    if (running !== undefined) {
      running.observe(Date.now(), true);
      this.#settledMoved += running.moved;
    }
    this.#countOutcome(report);
    if (skipped !== undefined) {
      if (skipped === 'unchanged') this.unchanged++;
      else this.skipped++;
      return;
    }
    this.#count(report);
  }

  /** Downloaded and resumed files count the bytes moved; unchanged and reused ones, the file's size. */
  #countOutcome(report: DownloadReport): void {
    if (report.state !== 'succeeded' || report.outcome === null) return;
    const moved = report.outcome === 'downloaded' || report.outcome === 'resumed';
    const entry = this.outcomes[report.outcome];
    entry.files++;
    entry.bytes += moved ? report.bytesDownloaded : (report.totalBytes ?? 0);
  }

  #count(report: DownloadReport): void {
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

  /** Bytes this run downloaded, by finished and running downloads (not what a resume found on disk). */
  get moved(): number {
    let bytes = this.#settledMoved;
    for (const running of this.active.values()) bytes += running.moved;
    return bytes;
  }

  /** Bytes the running downloads still need; null while one's size is unknown. */
  get remaining(): number | null {
    let remaining = 0;
    for (const running of this.active.values()) {
      const left = running.remaining;
      if (left === null) return null;
      remaining += left;
    }
    return remaining;
  }

  /** Seconds until the running downloads end, from the bytes they need and the current total rate. */
  get etaSeconds(): number | null {
    const remaining = this.remaining;
    const rate = this.rate;
    return remaining === null || rate <= 0 ? null : remaining / rate;
  }

  /** "3/12", or "3/12+" while a list is still being read. */
  get countLabel(): string {
    return `${this.settledCount}/${this.known}${this.moreToCome ? '+' : ''}`;
  }

  get elapsedSeconds(): number {
    return (Date.now() - this.startedAt) / 1000;
  }
}
