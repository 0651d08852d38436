import type { DownloadReport } from '@nectar/core';
import type { Outcome } from './outcome.js';
import type { RunningDownload } from './running.js';

/** What the user sees on stderr while a run goes: bars on a terminal, lines otherwise. */
export interface Display {
  started(report: DownloadReport): void;
  progress(report: DownloadReport): void;
  /** The server agreed to continue a kept part file (-c): said once, with the offset. */
  resumed(running: RunningDownload): void;
  settled(outcome: Outcome): void;
  /** A remark that is not one download's end (a rename refused, an interrupt). */
  note(message: string): void;
  /** Stops any rendering; called once before the summary. */
  stop(): void;
}

/** -qq: nothing at all. */
export const silentDisplay: Display = {
  started() {},
  progress() {},
  resumed() {},
  settled() {},
  note() {},
  stop() {},
};
