import type { DownloadReport } from '../report.js';

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
  try {
    // Read inside the try: a listener's getter may throw too.
    const method = listener[event] as ((r: DownloadReport<D>, h?: typeof headers) => unknown) | undefined;
    if (typeof method !== 'function') return;
    const result = method.call(listener, report, headers);
    if (isThenable(result)) Promise.resolve(result).catch((error: unknown) => warn(event, error));
  } catch (error) {
    warn(event, error);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<unknown>).then === 'function';
}

function warn(event: DownloadEvent, error: unknown): void {
  process.emitWarning(`listener ${event} threw: ${describeThrown(error)}`, { code: 'NECTAR_LISTENER_ERROR' });
}

/** Whatever was thrown, as text: a Symbol, a null-prototype object or a throwing getter included. */
function describeThrown(error: unknown): string {
  try {
    if (error instanceof Error) return String(error.message);
    if (typeof error === 'symbol') return error.toString();
    return String(error);
  } catch {
    return `a value that cannot be shown (${typeof error})`;
  }
}
