import type { HostSlowdown } from '../limits/per-host.js';
import { isThenable } from './request-source.js';
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
  /**
   * Beyond the spec: this request's origin answered 429 or 503, and every request to it is now
   * slowed down (fewer at once, a pause); it recovers by itself. Not a terminal event.
   */
  hostSlowed?(report: DownloadReport<D>, slowdown: HostSlowdown): unknown;
}

/** The events of a request's own life (hostSlowed tells of its origin). */
export type DownloadEvent = Exclude<keyof DownloadEventListener, 'hostSlowed'>;

/**
 * Calls one listener method. A listener that throws, or returns a promise that rejects, must
 * not break the download: the error becomes a process warning instead.
 */
export function emit<D>(
  listener: DownloadEventListener<D>,
  event: keyof DownloadEventListener,
  report: DownloadReport<D>,
  /** The event's second argument: downloadHeaders' headers, hostSlowed's slowdown. */
  detail?: Readonly<Record<string, string | string[] | undefined>> | HostSlowdown,
): void {
  try {
    // Read inside the try: a listener's getter may throw too.
    const method = listener[event] as ((r: DownloadReport<D>, d?: typeof detail) => unknown) | undefined;
    if (typeof method !== 'function') return;
    const result = method.call(listener, report, detail);
    if (isThenable(result)) Promise.resolve(result).catch((error: unknown) => warn(event, error));
  } catch (error) {
    warn(event, error);
  }
}

function warn(event: keyof DownloadEventListener, error: unknown): void {
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
