import type { DownloadReport, Redactor } from '@nectar/core/backend';
import { STDOUT } from './destinations.js';
import type { Display } from './display.js';
import { formatBytes, formatDuration, formatSpeed } from './format.js';
import { type Outcome, elapsedSeconds, failureReason } from './outcome.js';
import type { LineWriter } from './redact.js';
import type { LineStyle } from './style.js';
import { resumedLine } from './resumed.js';
import type { RunningDownload } from './running.js';
import type { Tally } from './tally.js';

export interface PlainLinesOptions {
  /** -q: failures only (and notes), no started/done/progress lines. */
  failuresOnly: boolean;
  /** How often a line sums up the running downloads; logs of long runs show life this way. */
  progressEveryMs?: number;
}

/**
 * The display when stderr is not a terminal (a pipe, a CI log): one line per event class,
 * never a carriage return or an escape sequence, so the output reads well in any log. The
 * writer masks and makes printable; the lines here hold URLs as they are.
 */
export class PlainLines implements Display {
  readonly #write: LineWriter;
  readonly #tally: Tally;
  readonly #failuresOnly: boolean;
  readonly #everyMs: number;
  #lastLine = Date.now();

  constructor(write: LineWriter, tally: Tally, options: PlainLinesOptions) {
    this.#write = write;
    this.#tally = tally;
    this.#failuresOnly = options.failuresOnly;
    this.#everyMs = options.progressEveryMs ?? 5000;
  }

  started(report: DownloadReport): void {
    if (!this.#failuresOnly) this.#write(`started  ${report.url} -> ${destinationOf(report)}`);
  }

  progress(): void {
    const now = Date.now();
    this.#tally.observe(now);
    if (this.#failuresOnly || now - this.#lastLine < this.#everyMs) return;
    this.#lastLine = now;
    this.#write(progressLine(this.#tally));
  }

  resumed(running: RunningDownload): void {
    if (!this.#failuresOnly) this.#write(resumedLine(running));
  }

  settled(outcome: Outcome): void {
    const line = settledLine(outcome);
    if (!this.#failuresOnly || outcome.report.state === 'failed') this.#write(line, settledStyle(outcome));
  }

  note(message: string): void {
    this.#write(message);
  }

  stop(): void {}
}

/** "progress 3/12 done, 2 running, 310.5 MiB, 41.2 MiB/s, 120.0 MiB left, ETA 3.0 s" (moved bytes only). */
export function progressLine(tally: Tally): string {
  const remaining = tally.remaining;
  const eta = tally.etaSeconds;
  const left = remaining === null ? '' : `, ${formatBytes(remaining)} left${eta === null ? '' : `, ETA ${formatDuration(eta)}`}`;
  return `progress ${tally.countLabel} done, ${tally.active.size} running, ${formatBytes(tally.moved)}, ${formatSpeed(tally.rate)}${left}`;
}

/** Failures are what a user must not miss in a scrolling log: they get the colour. */
export function settledStyle({ report, skipped }: Outcome): LineStyle | undefined {
  return skipped === undefined && report.state === 'failed' ? 'failure' : undefined;
}

/** One line for a download's end, unmasked; the TTY display logs the same line above its bars. */
export function settledLine({ report, destination, skipped, resumedFrom }: Outcome): string {
  const url = report.url;
  if (skipped === 'unchanged') return `unchanged ${url} -> ${destination} (not modified on the server)`;
  if (skipped !== undefined) return `skipped  ${url} -> ${destination} (exists)`;
  if (report.state === 'failed') return `failed   ${url}: ${failureReason(report)}`;
  if (report.state === 'canceled') return `canceled ${url}`;
  const seconds = elapsedSeconds(report);
  // A resumed file's speed counts only what this run downloaded, not what the part file held.
  const moved = report.bytesDownloaded - (resumedFrom ?? 0);
  const speed = seconds > 0 ? `, ${formatSpeed(moved / seconds)}` : '';
  const resumed = resumedFrom === undefined ? '' : `resumed at ${formatBytes(resumedFrom)}: ${formatBytes(moved)} more`;
  return `done     ${url} -> ${destination} (${resumed || formatBytes(moved)} in ${formatDuration(seconds)}${speed})`;
}

function destinationOf(report: DownloadReport): string {
  return typeof report.destination === 'string' ? report.destination : STDOUT;
}

/** --json: one report per line on stdout, every string in it masked (URLs, error texts, causes). */
export function jsonLine({ report, destination, skipped, resumedFrom }: Outcome, redactor: Redactor): string {
  const extra = { ...(skipped === undefined ? {} : { skipped }), ...(resumedFrom === undefined ? {} : { resumedFrom }) };
  return JSON.stringify(redactor.value({ ...report.toJSON(), destination, ...extra }));
}
