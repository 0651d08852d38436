import type { NectarErrorCode } from './errors.js';
import { redactUrl } from './redact.js';
import type { Destination, DownloadRequest } from './request.js';

export type DownloadState = 'waiting' | 'downloading' | 'succeeded' | 'failed' | 'canceled';

/**
 * How a succeeded request got its bytes: `downloaded` (a whole body), `resumed` (a body that
 * continued bytes already on disk), `unchanged` (a conditional request answered 304, or a digest
 * the state store vouches for: nothing was written), `reused` (linked or copied from a known copy).
 */
export type DownloadOutcome = 'downloaded' | 'resumed' | 'unchanged' | 'reused';

export const terminalStates: ReadonlySet<DownloadState> = new Set(['succeeded', 'failed', 'canceled']);

/**
 * Why a request failed: empty unless the report's `state` is 'failed', and then at least `code`
 * (one of the documented codes, so a switch over it is checked) and `message`; other fields
 * depend on the error (`status` for HTTP, `field`, `reason`, `attempts`, `cause` …).
 */
export interface ErrorReport {
  code?: NectarErrorCode;
  message?: string;
  [field: string]: unknown;
}

/** The JSON form of a report: Dates as ISO strings, a stream destination named, not serialised. */
export interface DownloadReportJSON<D = unknown> {
  url: string;
  destination: string;
  data: D;
  state: DownloadState;
  totalBytes: number | null;
  bytesDownloaded: number;
  startTime: string | null;
  finishTime: string | null;
  errorReport: ErrorReport;
  finalUrl: string | null;
  attempts: number;
  outcome: DownloadOutcome | null;
}

/**
 * One per request, created and updated by the downloader; listeners receive the same object
 * each time, so it always shows the latest state.
 */
export class DownloadReport<D = unknown> {
  readonly url: string;
  readonly destination: Destination;
  readonly data: D;
  state: DownloadState = 'waiting';
  /** null when the size is unknown (chunked, or an encoding that changes the length). */
  totalBytes: number | null = null;
  /** Bytes written to the destination (in the current attempt). */
  bytesDownloaded = 0;
  startTime: Date | null = null;
  finishTime: Date | null = null;
  /** Empty unless `state` is 'failed': at least `message` and `code`; `status` for HTTP. */
  errorReport: ErrorReport = {};
  /** The URL that served the file, after redirects and mirrors (secrets masked); null until it is known. */
  finalUrl: string | null = null;
  /** Attempts made so far (retries included); 0 until the transfer begins. */
  attempts = 0;
  /** How the bytes were got, once the request succeeded; null before and on failure or cancel. */
  outcome: DownloadOutcome | null = null;

  /** The request's URL is kept with its secrets masked (redact.ts): a report is shown and logged. */
  constructor(request: Pick<DownloadRequest<D>, 'url' | 'destination' | 'data'>) {
    this.url = redactUrl(request.url);
    this.destination = request.destination;
    this.data = request.data;
  }

  toJSON(): DownloadReportJSON<D> {
    return {
      url: this.url,
      destination: typeof this.destination === 'string' ? this.destination : '[stream]',
      data: this.data,
      state: this.state,
      totalBytes: this.totalBytes,
      bytesDownloaded: this.bytesDownloaded,
      startTime: this.startTime?.toISOString() ?? null,
      finishTime: this.finishTime?.toISOString() ?? null,
      errorReport: this.errorReport,
      finalUrl: this.finalUrl,
      attempts: this.attempts,
      outcome: this.outcome,
    };
  }
}
