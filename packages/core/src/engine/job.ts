import type { Writable } from 'node:stream';
import type { ResolvedConfig } from '../config.js';
import type { AttemptBudgets } from '../limits/attempt-budgets.js';
import type { SpeedLimiter } from '../limits/speed.js';
import type { RequestPermits } from '../http/redirect-driver.js';
import type { ProxySettings } from '../http/proxy.js';
import type { FileIdentity } from '../output/destination.js';
import type { DownloadRequest } from '../request.js';
import type { TlsMaterial } from '../tls/material.js';

/** Where a backend writes one attempt's body: `TransferJob.body`. */
export interface BodyOutput {
  write(chunks: readonly Uint8Array[], bytes?: number): void | Promise<void>;
}

/** Bytes [start, end) of a file. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** What a backend learned from the server, told to core as soon as it is known. */
export interface TransferResponse {
  /** The whole file's size, or null when unknown (chunked, or an encoding that changes the length). */
  totalBytes: number | null;
  /** Protocol headers: their arrival fires `downloadHeaders`. Omit for protocols without headers. */
  headers?: Readonly<Record<string, string | string[] | undefined>>;
  status?: number;
  /** The URL that answered, after redirects. */
  finalUrl?: string;
  /**
   * When the job asked to resume (`offset > 0`): true if the body continues at `offset`, false if
   * it is the whole file again (core then empties the destination before any byte is written).
   */
  resumed?: boolean;
  /**
   * The server confirmed that the destination is current (HTTP 304 to a conditional request):
   * no body follows and nothing is written.
   */
  unchanged?: boolean;
  /** ETag or Last-Modified that lets a later attempt resume safely (HTTP If-Range). */
  validator?: string | null;
  /**
   * The source serves byte ranges of this version (HTTP `Accept-Ranges: bytes` with a validator,
   * a local or SFTP file): core may then fetch a large file in segments (`config.segments`).
   */
  ranges?: boolean;
}

/**
 * One attempt at one request, as handed to `Downloader.transfer()`. Core has already merged the
 * headers, loaded the TLS material and opened the destination; the backend only moves bytes:
 * it calls `responded()` once it knows the size, then hands the body to `body` chunk by chunk
 * (or pipes it into `sink`).
 */
export interface TransferJob {
  readonly request: DownloadRequest;
  /** The URL of this attempt: the request's, or one of its mirrors. */
  readonly url: URL;
  readonly config: ResolvedConfig;
  /** Lower-cased, merged from defaults, config and request, with basic auth; for HTTP backends. */
  readonly headers: Readonly<Record<string, string>>;
  /** The config's basic-auth credentials, for protocols that log in another way (SFTP). */
  readonly credentials: { readonly username: string; readonly password: string } | null;
  readonly tls: TlsMaterial;
  readonly proxy: ProxySettings | null;
  /** Aborted on cancel, on the request's own signal, and on a whole-request timeout. */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** Resume from this byte (0: the whole file). A backend that cannot resume answers `resumed: false`. */
  readonly offset: number;
  /** The validator of the earlier attempt, to send as If-Range with the range. */
  readonly validator: string | null;
  /**
   * A segment of a file core splits (only for a backend whose `supports.ranges` is true): fetch
   * exactly bytes [start, end) of the version `validator` names, from `url`, and hand them to
   * `body` in order. The source must confirm the range (HTTP: a 206 with that Content-Range
   * start); anything else fails NECTAR_RESUME. null for a whole file or a resume.
   */
  readonly range: ByteRange | null;
  /**
   * Write the body here, chunk by chunk, in order: it limits speed, writes to the destination,
   * counts and hashes. A file destination is written synchronously and `write()` returns
   * nothing; when it returns a promise, wait for it before the next chunk. It throws (or
   * rejects) with the error that ends the attempt (a full disk, config.maxFileSize). A chunk may
   * be kept by a stream destination: never reuse its memory.
   */
  readonly body: BodyOutput;
  /** The same as a Writable, for a backend that pipes a stream: made on first use. */
  readonly sink: Writable;
  /** The part file, for a backend that writes the file itself (then it calls `progressed`). */
  readonly tempPath: string | null;
  responded(response: TransferResponse): Promise<void>;
  /** For a backend writing `tempPath` itself: `bytes` more are on disk. */
  progressed(bytes: number): void;
  /**
   * For a backend that replaced the part file with a link (file:// fileMode): what lstat() of
   * the new one shows. After its rename core checks the destination is that file — anything
   * else was planted by a neighbour and is removed.
   */
  partReplaced(identity: FileIdentity): void;
  /** For a backend writing `tempPath` itself: wait for the attempt's byte budgets before `bytes`. */
  throttle(bytes: number): Promise<void>;
  /**
   * The downloader's speed limit (null without maxSpeed); `budgets` holds it with the others.
   * In another thread `SpeedLimiter.sharing(limiter.state)` shares this budget.
   */
  readonly limiter: SpeedLimiter | null;
  /**
   * Every byte budget of this attempt (the downloader's, its origin's, the request's), for a
   * backend that throttles in another thread: share their `state`s and throttle there with
   * `attemptThrottle()`, as core's thread executor does.
   */
  readonly budgets: AttemptBudgets;
  /**
   * The per-origin limits of this attempt: core took the first request's slot and rate token;
   * an HTTP backend's redirect driver (core's `followRedirects`) calls `enter()` for each hop.
   */
  readonly hosts: RequestPermits;
}
