import type { DownloadReport } from './report.js';

/** Every method is optional; a downloader without a listener uses a no-op one. */
export interface DownloadEventListener<D = unknown> {
  downloadStarted?(report: DownloadReport<D>): unknown;
  downloadHeaders?(report: DownloadReport<D>, headers: Readonly<Record<string, string | string[] | undefined>>): unknown;
  downloadProgress?(report: DownloadReport<D>): unknown;
  downloadSucceeded?(report: DownloadReport<D>): unknown;
  downloadFailed?(report: DownloadReport<D>): unknown;
  /** Beyond the spec: the Python original reported cancels as failures. */
  downloadCanceled?(report: DownloadReport<D>): unknown;
}

export type DownloadEvent = keyof DownloadEventListener;

/**
 * Calls one listener method. A listener that throws, or returns a promise that rejects, must
 * not break the download: the error becomes a process warning instead.
 */
export function emit<D>(
  listener: DownloadEventListener<D>,
  event: DownloadEvent,
  report: DownloadReport<D>,
  headers?: Readonly<Record<string, string | string[] | undefined>>,
): void {
  const method = listener[event] as ((r: DownloadReport<D>, h?: typeof headers) => unknown) | undefined;
  if (typeof method !== 'function') return;
  try {
    const result = method.call(listener, report, headers);
    if (result instanceof Promise) result.catch((error: unknown) => warn(event, error));
  } catch (error) {
    warn(event, error);
  }
}

function warn(event: DownloadEvent, error: unknown): void {
  process.emitWarning(`listener ${event} threw: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'NECTAR_LISTENER_ERROR',
  });
}
