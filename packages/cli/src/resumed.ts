import { formatBytes } from './format.js';
import type { RunningDownload } from './running.js';

/** "resuming <url> -> <file> at 1.2 MiB of 4.0 MiB": said once, when the server agreed to continue. */
export function resumedLine({ report, resumedFrom }: RunningDownload): string {
  const of = report.totalBytes === null ? '' : ` of ${formatBytes(report.totalBytes)}`;
  const destination = typeof report.destination === 'string' ? ` -> ${report.destination}` : '';
  return `resuming ${report.url}${destination} at ${formatBytes(resumedFrom ?? 0)}${of}`;
}
