import { basename } from 'node:path';
import type { DownloadReport, Redactor } from '@nectar/core/backend';
import cliProgress from 'cli-progress';
import type { Display } from './display.js';
import { formatBytes, formatDuration, formatSpeed, printable } from './format.js';
import { busiest, downloadLines } from './layout.js';
import { settledLine, settledStyle } from './lines.js';
import { resumedLine } from './resumed.js';
import type { Outcome } from './outcome.js';
import type { RunningDownload } from './running.js';
import type { Tally } from './tally.js';
import { type LineStyle, styled } from './style.js';
import { fitLabel, fitWidth } from './terminal-text.js';

const LABEL_WIDTH = 18;
const BAR_WIDTH = 20;

type Bar = ReturnType<cliProgress.MultiBar['create']>;

/** stderr as the bars use it: a terminal's size, and its resize events. */
export type TerminalStream = NodeJS.WritableStream & { readonly columns?: number; readonly rows?: number };

/** What one line of the display shows; the same layout for a file and for the total. */
export interface LineState {
  label: string;
  bytes: number;
  total: number | null;
  speed: number;
  /** Said after the sizes: where a resumed file continued. */
  remark?: string;
}

/**
 * Bars on a terminal (stderr): the total on top, then one row per running download — the
 * busiest ones and a "+K more" row when they outnumber the terminal's rows. Every line is cut to
 * the terminal's width; ends of downloads are logged above the bars. cli-progress does the
 * redrawing (at most `fps` times a second, whatever the rate of events); which download each
 * row shows is chosen afresh at every redraw.
 */
export class ProgressBars implements Display {
  readonly #multi: cliProgress.MultiBar;
  readonly #tally: Tally;
  readonly #stream: TerminalStream;
  readonly #redactor: Redactor;
  readonly #colours: boolean;
  readonly #labels = new Map<DownloadReport, string>();
  /** The rows under the total, as cli-progress bars whose text is #frame's. */
  readonly #rows: Bar[] = [];
  #frame: string[] = [];

  constructor(stream: TerminalStream, tally: Tally, redactor: Redactor, colours: boolean) {
    this.#tally = tally;
    this.#stream = stream;
    this.#redactor = redactor;
    this.#colours = colours;
    this.#multi = new cliProgress.MultiBar({
      stream,
      fps: 8,
      hideCursor: true,
      clearOnComplete: true,
      linewrap: true,
      // A log line written over a row moves the rows down: each must be drawn again, changed or not.
      forceRedraw: true,
      // We stop the bars ourselves on SIGINT, before printing the summary.
      gracefulExit: false,
      format: () => '',
    });
    this.#multi.on('update-pre', () => this.#compose());
    this.#multi.create(1, 0, undefined, { format: () => this.#frame[0] ?? '' });
    stream.on('resize', this.#resized);
  }

  /** A terminal made shorter must lose rows now, or the bars would scroll. */
  readonly #resized = () => this.#fitRows();

  started(report: DownloadReport): void {
    this.#labels.set(report, this.#printable(basename(typeof report.destination === 'string' ? report.destination : report.url)));
    this.#fitRows();
  }

  resumed(running: RunningDownload): void {
    this.#log(resumedLine(running));
  }

  progress(): void {}

  settled(outcome: Outcome): void {
    this.#log(settledLine(outcome), settledStyle(outcome));
    this.#labels.delete(outcome.report);
    this.#fitRows();
    this.#multi.update();
  }

  note(message: string): void {
    this.#log(message);
    this.#multi.update();
  }

  stop(): void {
    // log() only buffers; an update flushes what is waiting before the bars are cleared.
    this.#multi.update();
    this.#multi.stop();
    this.#stream.removeListener('resize', this.#resized);
  }

  /** As many rows as the running downloads need, up to what the terminal has. */
  #fitRows(): void {
    const wanted = Math.min(this.#tally.active.size, downloadLines(this.#stream.rows));
    while (this.#rows.length < wanted) {
      const index = this.#rows.length + 1;
      this.#rows.push(this.#multi.create(1, 0, undefined, { format: () => this.#frame[index] ?? '' }));
    }
    while (this.#rows.length > wanted) this.#multi.remove(this.#rows.pop()!);
  }

  /** The text of every line for this redraw. */
  #compose(): void {
    this.#tally.observe();
    const width = this.#columns - 1;
    const { shown, hidden } = busiest([...this.#tally.active.values()], this.#rows.length);
    const lines = [this.#totalLine(), ...shown.map((running) => this.#downloadLine(running))];
    if (hidden > 0) lines.push(`+${hidden} more running`);
    this.#frame = lines.map((line) => fitWidth(line, width));
  }

  #totalLine(): string {
    const tally = this.#tally;
    const moved = tally.moved;
    const remaining = tally.remaining;
    const state = { label: `total ${tally.countLabel}`, bytes: moved, total: remaining === null ? null : moved + remaining, speed: tally.rate };
    return renderLine(state, this.#barWidth);
  }

  #downloadLine(running: RunningDownload): string {
    const { report, resumedFrom } = running;
    const label = this.#labels.get(report) ?? '';
    const remark = resumedFrom === null ? undefined : `resumed at ${formatBytes(resumedFrom)}`;
    return renderLine({ label, bytes: report.bytesDownloaded, total: report.totalBytes, speed: running.meter.bytesPerSecond, remark }, this.#barWidth);
  }

  /** A line above the bars: masked, escaped, cut to the terminal's width, then coloured. */
  #log(text: string, style?: LineStyle): void {
    const line = styled(fitWidth(this.#printable(text), this.#columns, 'middle'), style, this.#colours);
    // Erase the row first: it may hold a longer bar than the line written over it.
    this.#multi.log(`\u001b[2K${line}\n`);
  }

  /** Everything of the user's or the network's drawn here passes through this: masked, no control characters. */
  #printable(text: string): string {
    return printable(this.#redactor.text(text));
  }

  get #columns(): number {
    const columns = this.#stream.columns;
    return columns !== undefined && columns > 0 ? columns : 80;
  }

  get #barWidth(): number {
    return barWidthFor(this.#columns);
  }
}

/**
 * `name  [=====-----]  45%  500 KiB/s  ETA 3 s  1.2 MiB/2.6 MiB`: what matters most first, since
 * a narrow terminal cuts the end. With the size unknown there is no bar, percentage or ETA,
 * only what is known: speed and bytes so far. The ETA is what is left over the current rate.
 */
export function renderLine({ label, bytes, total, speed, remark }: LineState, barWidth = BAR_WIDTH): string {
  const name = fitLabel(label, LABEL_WIDTH);
  const tail = remark === undefined ? '' : `  ${remark}`;
  if (total === null || total === 0) {
    const unknown = '[size unknown'.padEnd(barWidth + 1) + ']';
    return `${name}  ${unknown}       ${formatSpeed(speed)}  ${formatBytes(bytes)}${tail}`;
  }
  const ratio = Math.min(1, bytes / total);
  const filled = Math.round(ratio * barWidth);
  const bar = `[${'='.repeat(filled)}${' '.repeat(barWidth - filled)}]`;
  const percent = `${Math.floor(ratio * 100)}%`.padStart(4);
  const eta = speed > 0 && bytes < total ? `  ETA ${formatDuration((total - bytes) / speed)}` : '';
  return `${name}  ${bar} ${percent}  ${formatSpeed(speed)}${eta}  ${formatBytes(bytes)}/${formatBytes(total)}${tail}`;
}

/** The bar shrinks on a narrow terminal so that speed and ETA still fit. */
export function barWidthFor(columns: number | undefined): number {
  return Math.max(10, Math.min(30, (columns ?? 80) - 62));
}
