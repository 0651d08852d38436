import { type BackendEnv, NectarError, type NectarErrorCode, type ProxySettings, type ResolvedConfig, type TlsMaterial, type TransferResponse } from '@nectar/core/backend';

/**
 * The messages between the main thread and a transfer worker. Everything here survives
 * postMessage: plain data, ArrayBuffers moved with their message, SharedArrayBuffers shared.
 */

/** What a worker builds its undici dispatcher from, given once when it starts. */
export interface WorkerSetup {
  readonly config: ResolvedConfig;
  readonly tls: TlsMaterial;
  /** ProxySettings with its URL as text: URL objects do not cross threads. */
  readonly proxy: (Omit<ProxySettings, 'url'> & { readonly url: string }) | null;
}

/** Where the worker puts the body: the part file it writes itself, or back to the main thread. */
export type BodyTarget = { readonly kind: 'file'; readonly path: string; readonly destination: string } | { readonly kind: 'stream' };

export interface StartMessage {
  readonly type: 'start';
  readonly id: number;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly offset: number;
  readonly validator: string | null;
  readonly target: BodyTarget;
  /** The first request of a file that may be split into this many segments (1: never). */
  readonly split: number;
  /** A later segment: bytes [start, end) of the representation `validator` names. */
  readonly range: ByteRange | null;
  /** The downloader's shared speed budget, when maxSpeed is set and the worker writes the file. */
  readonly limiter: { readonly state: SharedArrayBuffer; readonly bytesPerSecond: number } | null;
}

/** Bytes [start, end) of a file. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/** How the first request split its file: the ranges other workers fetch, from where, of what. */
export interface SegmentPlan {
  readonly url: string;
  readonly validator: string;
  readonly ranges: readonly ByteRange[];
}

export type ToWorker =
  | StartMessage
  /** core has taken the response in (it may have emptied the part file): write the body now. */
  | { readonly type: 'proceed'; readonly id: number }
  | { readonly type: 'abort'; readonly id: number }
  /** The main thread wrote one more of the chunks sent back for a stream destination. */
  | { readonly type: 'credit'; readonly id: number }
  | { readonly type: 'close' };

export type FromWorker =
  /** `wait`: the worker holds the body until 'proceed'. */
  | { readonly type: 'responded'; readonly id: number; readonly response: TransferResponse; readonly wait: boolean; readonly split: SegmentPlan | null }
  /** `bytes` more are in the part file. */
  | { readonly type: 'progress'; readonly id: number; readonly bytes: number }
  | { readonly type: 'chunk'; readonly id: number; readonly data: ArrayBuffer }
  /** The last `bytes` written ride with the final message, so no progress message precedes it. */
  | { readonly type: 'done'; readonly id: number; readonly bytes: number }
  | { readonly type: 'failed'; readonly id: number; readonly bytes: number; readonly error: SerializedError };

/** A NectarError as data; its cause keeps only its message, which is what an errorReport shows. */
export interface SerializedError {
  readonly code: NectarErrorCode;
  readonly message: string;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;
  readonly cause?: string;
}

export function serializeError(error: NectarError): SerializedError {
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return { code: error.code, message: error.message, retryable: error.retryable, details: plainDetails(error.details), ...(cause === undefined ? {} : { cause }) };
}

export function deserializeError(error: SerializedError): NectarError {
  return new NectarError(error.code, error.message, {
    retryable: error.retryable,
    details: error.details,
    cause: error.cause === undefined ? undefined : new Error(error.cause),
  });
}

/** Details hold strings and numbers in practice; anything that would not clone becomes its text. */
function plainDetails(details: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    plain[key] = value === null || ['string', 'number', 'boolean', 'undefined'].includes(typeof value) ? value : String(value);
  }
  return plain;
}

/** A downloader's env as a worker's setup: plain data that survives postMessage. */
export function workerSetup(env: BackendEnv): WorkerSetup {
  return {
    config: cloneableConfig(env.settings),
    tls: env.tls,
    proxy: env.proxy === null ? null : { ...env.proxy, url: env.proxy.url.href },
  };
}

/**
 * The config fields a worker reads, as data: a config may carry keys of any kind (the spec allows
 * arbitrary ones), and one function among them would make postMessage throw.
 */
function cloneableConfig(config: ResolvedConfig): ResolvedConfig {
  const copy: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    try {
      copy[key] = structuredClone(value);
    } catch {
      // Not data: no worker-side code reads it.
    }
  }
  return copy as ResolvedConfig;
}
