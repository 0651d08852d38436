import { DownloadReport, redactUrl } from '@nectar/core';

/** How one URL of the run ended, as the displays, the tally and --json see it. */
export interface Outcome {
  readonly report: DownloadReport;
  /** Where the file is: the report's destination, or its name after a Content-Disposition rename. */
  readonly destination: string;
  /**
   * Set when the file was left alone: it exists (--skip-existing, --continue), or the server
   * said it has not changed since (--timestamping, a 304).
   */
  readonly skipped?: 'exists' | 'unchanged';
  /** The bytes a kept part file held when this run continued it (-c). */
  readonly resumedFrom?: number;
}

/** A URL whose file was left as it is: a success that moved no byte. */
export function leftAlone(url: string, destination: string, skipped: 'exists' | 'unchanged'): Outcome {
  const report = new DownloadReport({ url, destination, data: undefined });
  report.state = 'succeeded';
  report.finishTime = new Date();
  if (skipped === 'unchanged') report.outcome = 'unchanged';
  return { report, destination, skipped };
}

/**
 * errorReport → "message (CODE)", for a line that already starts with the URL: core's messages
 * name the URL too ("404 Not Found from <url>", "<url>: the connection was refused"), which
 * would print it twice. A URL the message names that is not the report's (a redirect's) stays.
 */
export function failureReason(report: DownloadReport): string {
  const { errorReport } = report;
  const message = withoutUrl(typeof errorReport.message === 'string' ? errorReport.message : 'failed', urlForms(report));
  return typeof errorReport.code === 'string' ? `${message} (${errorReport.code})` : message;
}

/** The URL as the report holds it and masked as core quotes it (errorReport.url may be a redirect's). */
function urlForms(report: DownloadReport): string[] {
  return [...new Set([report.url, redactUrl(report.url)])].filter((form) => form !== '');
}

function withoutUrl(message: string, forms: readonly string[]): string {
  for (const form of forms) {
    if (message.endsWith(` from ${form}`)) return message.slice(0, -` from ${form}`.length);
    if (message.startsWith(`${form}: `)) return message.slice(form.length + 2);
    // "<url> via proxy <proxy>: …" keeps the proxy, which is news.
    if (message.startsWith(`${form} `)) return message.slice(form.length + 1);
  }
  return message;
}

/** Seconds between the report's start and finish, 0 when it never started. */
export function elapsedSeconds(report: DownloadReport): number {
  if (report.startTime === null || report.finishTime === null) return 0;
  return (report.finishTime.getTime() - report.startTime.getTime()) / 1000;
}
