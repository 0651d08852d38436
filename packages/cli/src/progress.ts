import { basename } from 'node:path';
import type { DownloadReport, Redactor } from '@nectar/core/backend';
import cliProgress from 'cli-progress';
import type { Display } from './display.js';
import { settledLine } from './lines.js';
import { fitLabel, formatBytes, formatDuration, formatSpeed, printable } from './format.js';
import type { Outcome } from './outcome.js';
import { SpeedMeter } from './speed.js';
import type { Tally } from './tally.js';

const LABEL_WIDTH = 18;
const BAR_WIDTH = 20;

type Bar = ReturnType<cliProgress.MultiBar['create']>;

interface Row {
  readonly bar: Bar;
  readonly meter: SpeedMeter;
}

/** What one line of the display shows; the same layout for a file and for the total. */
interface LineState {
  label: string;
  bytes: number;
  total: number | null;
  speed: number;
}

/**
 * Bars on a terminal (stderr): the total with speed and ETA on top, one bar per running
 * download below, removed when it ends (its end is logged above the bars). cli-progress does
 * the redrawing, at most `fps` times a second however fast the events come.
 */
export class ProgressBars implements Display {
  readonly #multi: cliProgress.MultiBar;
  readonly #tally: Tally;
  readonly #rows = new Map<DownloadReport, Row>();
  readonly #totalMeter = new SpeedMeter();
  readonly #stream: NodeJS.WritableStream & { readonly columns?: number };
  readonly #redactor: Redactor;

  constructor(stream: NodeJS.WritableStream & { readonly columns?: number }, tally: Tally, redactor: Redactor) {
    this.#tally = tally;
    this.#stream = stream;
    this.#redactor = redactor;
    this.#multi = new cliProgress.MultiBar({
      stream,
      fps: 8,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: true,
      // We stop the bars ourselves on SIGINT, before printing the summary.
      gracefulExit: false,
      format: () => '',
    });
    this.#multi.create(1, 0, undefined, { format: () => this.#renderTotal() });
  }

  started(report: DownloadReport): void {
    const meter = new SpeedMeter();
    const label = this.#printable(basename(typeof report.destination === 'string' ? report.destination : report.url));
    const bar = this.#multi.create(1, 0, undefined, {
      format: () => {
        // Sampled at each redraw too, so that a stalled download shows its speed falling.
        meter.sample(report.bytesDownloaded);
        return renderLine({ label, bytes: report.bytesDownloaded, total: report.totalBytes, speed: meter.bytesPerSecond }, this.#barWidth);
      },
    });
    this.#rows.set(report, { bar, meter });
  }

  progress(report: DownloadReport): void {
    this.#rows.get(report)?.meter.sample(report.bytesDownloaded);
  }

  settled(outcome: Outcome): void {
    this.#multi.log(`${this.#printable(settledLine(outcome))}\n`);
    const row = this.#rows.get(outcome.report);
    this.#rows.delete(outcome.report);
    if (row === undefined) this.#multi.update();
    else this.#multi.remove(row.bar);
  }

  note(message: string): void {
    this.#multi.log(`${this.#printable(message)}\n`);
    this.#multi.update();
  }

  stop(): void {
    // log() only buffers; an update flushes what is waiting before the bars are cleared.
    this.#multi.update();
    this.#multi.stop();
  }

  #renderTotal(): string {
    const tally = this.#tally;
    this.#totalMeter.sample(tally.bytes);
    const label = `total ${tally.settledCount}/${tally.settledCount + tally.active.size}`;
    return renderLine({ label, bytes: tally.bytes, total: tally.totalBytes, speed: this.#totalMeter.bytesPerSecond }, this.#barWidth);
  }

  /** Everything of the user's or the network's drawn here passes through this: masked, no control characters. */
  #printable(text: string): string {
    return printable(this.#redactor.text(text));
  }

  get #barWidth(): number {
    return barWidthFor(this.#stream.columns);
  }
}

/**
 * `name  [=====-----]  45%  500 KiB/s  ETA 3 s  1.2 MiB/2.6 MiB`: what matters most first, since
 * a narrow terminal cuts the end. With the size unknown there is no bar, percentage or ETA,
 * only what is known: speed and bytes so far.
 */
export function renderLine({ label, bytes, total, speed }: LineState, barWidth = BAR_WIDTH): string {
  const name = fitLabel(label, LABEL_WIDTH);
  if (total === null || total === 0) {
    const unknown = '[size unknown'.padEnd(barWidth + 1) + ']';
    return `${name}  ${unknown}       ${formatSpeed(speed)}  ${formatBytes(bytes)}`;
  }
  const ratio = Math.min(1, bytes / total);
  const filled = Math.round(ratio * barWidth);
  const bar = `[${'='.repeat(filled)}${' '.repeat(barWidth - filled)}]`;
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  const eta = speed > 0 && bytes < total ? `  ETA ${formatDuration((total - bytes) / speed)}` : '';
  return `${name}  ${bar} ${percent}  ${formatSpeed(speed)}${eta}  ${formatBytes(bytes)}/${formatBytes(total)}`;
}

/** The bar shrinks on a narrow terminal so that speed and ETA still fit. */
export function barWidthFor(columns: number | undefined): number {
  return Math.max(10, Math.min(30, (columns ?? 80) - 62));
}
