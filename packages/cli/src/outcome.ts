import type { DownloadReport } from '@nectar/core';

/** How one URL of the run ended, as the displays, the tally and --json see it. */
export interface Outcome {
  readonly report: DownloadReport;
  /** Where the file is: the report's destination, or its name after a Content-Disposition rename. */
  readonly destination: string;
  /** Set when the file was left alone because it exists (--skip-existing, --continue). */
  readonly skipped?: 'exists';
}

/** errorReport → "message (CODE)", for a line a person reads. */
export function failureReason(errorReport: Readonly<Record<string, unknown>>): string {
  const message = typeof errorReport.message === 'string' ? errorReport.message : 'failed';
  return typeof errorReport.code === 'string' ? `${message} (${errorReport.code})` : message;
}

/** Seconds between the report's start and finish, 0 when it never started. */
export function elapsedSeconds(report: DownloadReport): number {
  if (report.startTime === null || report.finishTime === null) return 0;
  return (report.finishTime.getTime() - report.startTime.getTime()) / 1000;
}
