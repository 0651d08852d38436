import type { DownloadReport, Redactor } from '@nectar/core/backend';
import { STDOUT } from './destinations.js';
import type { Display } from './display.js';
import { formatBytes, formatDuration, formatSpeed } from './format.js';
import { type Outcome, elapsedSeconds, failureReason } from './outcome.js';
import type { LineWriter } from './redact.js';
import { SpeedMeter } from './speed.js';
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
  readonly #meter = new SpeedMeter(10_000);
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
    this.#meter.sample(this.#tally.bytes, now);
    if (this.#failuresOnly || now - this.#lastLine < this.#everyMs) return;
    this.#lastLine = now;
    const total = this.#tally.totalBytes;
    const size = total === null ? formatBytes(this.#tally.bytes) : `${formatBytes(this.#tally.bytes)} of ${formatBytes(total)}`;
    this.#write(`progress ${this.#tally.active.size} running, ${size}, ${formatSpeed(this.#meter.bytesPerSecond)}`);
  }

  settled(outcome: Outcome): void {
    const line = settledLine(outcome);
    if (!this.#failuresOnly || outcome.report.state === 'failed') this.#write(line);
  }

  note(message: string): void {
    this.#write(message);
  }

  stop(): void {}
}

/** One line for a download's end, unmasked; the TTY display logs the same line above its bars. */
export function settledLine({ report, destination, skipped }: Outcome): string {
  const url = report.url;
  if (skipped === 'unchanged') return `unchanged ${url} -> ${destination} (not modified on the server)`;
  if (skipped !== undefined) return `skipped  ${url} -> ${destination} (exists)`;
  if (report.state === 'failed') return `failed   ${url}: ${failureReason(report)}`;
  if (report.state === 'canceled') return `canceled ${url}`;
  const seconds = elapsedSeconds(report);
  const speed = seconds > 0 ? `, ${formatSpeed(report.bytesDownloaded / seconds)}` : '';
  return `done     ${url} -> ${destination} (${formatBytes(report.bytesDownloaded)} in ${formatDuration(seconds)}${speed})`;
}

function destinationOf(report: DownloadReport): string {
  return typeof report.destination === 'string' ? report.destination : STDOUT;
}

/** --json: one report per line on stdout, every string in it masked (URLs, error texts, causes). */
export function jsonLine({ report, destination, skipped }: Outcome, redactor: Redactor): string {
  return JSON.stringify(redactor.value({ ...report.toJSON(), destination, ...(skipped === undefined ? {} : { skipped }) }));
}
