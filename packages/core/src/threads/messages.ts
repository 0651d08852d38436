import type { ResolvedConfig } from '../config.js';
import type { BackendEnv } from '../engine/backend.js';
import type { ByteRange, TransferResponse } from '../engine/job.js';
import { NectarError, type NectarErrorCode } from '../errors.js';
import type { ProxySettings } from '../http/proxy.js';
import type { SharedBudgets } from '../limits/attempt-budgets.js';
import type { FileIdentity } from '../output/destination.js';
import type { DownloadRequest } from '../request.js';
import type { TlsMaterial } from '../tls/material.js';

/**
 * The messages between the main thread and a transfer worker. Everything here survives
 * postMessage: plain data, ArrayBuffers moved with their message, SharedArrayBuffers shared.
 */

/**
 * Which backend a worker runs: a module the worker imports (an absolute file: URL of built
 * JavaScript) and the name of its export, a function that makes the backend from `options`.
 */
export interface WorkerBackend {
  readonly module: string;
  readonly export: string;
  /** Passed to the factory; structured-cloneable data. */
  readonly options?: unknown;
}

/** What a worker is started with: its backend and the downloader's env as data. */
export interface WorkerSetup {
  readonly backend: WorkerBackend;
  readonly config: ResolvedConfig;
  readonly tls: TlsMaterial;
  /** ProxySettings with its URL as text: URL objects do not cross threads. */
  readonly proxy: (Omit<ProxySettings, 'url'> & { readonly url: string }) | null;
}

/** Where the worker puts the body: the part file it writes itself, or back to the main thread. */
export type BodyTarget = { readonly kind: 'file'; readonly path: string; readonly destination: string } | { readonly kind: 'stream' };

/** The request fields a worker's job carries (a stream destination, data and signal stay on the main thread). */
export type WorkerRequest = Pick<DownloadRequest, 'url' | 'mirrors' | 'headers' | 'expectedSize' | 'expectedDigest'>;

export interface StartMessage {
  readonly type: 'start';
  readonly id: number;
  readonly request: WorkerRequest;
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly credentials: { readonly username: string; readonly password: string } | null;
  readonly attempt: number;
  readonly offset: number;
  readonly validator: string | null;
  readonly range: ByteRange | null;
  readonly target: BodyTarget;
  /**
   * Whether the main thread may act on the file after 'responded' (empty it for a resume the
   * server ignored, split it into segments): the worker then waits for 'proceed' before writing.
   */
  readonly mayWait: boolean;
  /** The attempt's byte budgets, when the worker writes the file (for a stream, the main thread throttles). */
  readonly budgets: SharedBudgets | null;
  /** Hash the whole file as it is written (an expected digest, a fresh file): the algorithm. */
  readonly hash: string | null;
}

export type ToWorker =
  | StartMessage
  /** core has taken the response in: write the body now, no more than `limit` bytes (a segment). */
  | { readonly type: 'proceed'; readonly id: number; readonly limit: number | null }
  | { readonly type: 'abort'; readonly id: number }
  /** The main thread wrote one more of the chunks sent back for a stream destination. */
  | { readonly type: 'credit'; readonly id: number }
  /**
   * The origin's limits let the redirect hop asked for go (`error`: they will not: the attempt
   * ends); `host` is the byte budget of the origin the attempt is at now.
   */
  | { readonly type: 'entered'; readonly id: number; readonly error: SerializedError | null; readonly host: SharedArrayBuffer | null }
  | { readonly type: 'close' };

export type FromWorker =
  /** `wait`: the worker holds the body until 'proceed'. */
  | { readonly type: 'responded'; readonly id: number; readonly response: TransferResponse; readonly wait: boolean }
  /** `bytes` more are in the part file. */
  | { readonly type: 'progress'; readonly id: number; readonly bytes: number }
  | { readonly type: 'chunk'; readonly id: number; readonly data: ArrayBuffer }
  /** A redirect hop to `url` waits for its origin's slot and rate token on the main thread. */
  | { readonly type: 'enter'; readonly id: number; readonly url: string }
  /** The backend replaced the part file with a link. */
  | { readonly type: 'replaced'; readonly id: number; readonly identity: FileIdentity }
  /** The last `bytes` written ride with the final message, so no progress message precedes it. */
  /** `digest`: of every byte of the file, when `hash` asked for it and the worker wrote them all. */
  | { readonly type: 'done'; readonly id: number; readonly bytes: number; readonly digest: string | null }
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
export function workerSetup(backend: WorkerBackend, env: BackendEnv): WorkerSetup {
  return {
    backend,
    config: cloneable(env.settings),
    tls: env.tls,
    proxy: env.proxy === null ? null : { ...env.proxy, url: env.proxy.url.href },
  };
}

/**
 * The fields of a config or request that are data: a config may carry keys of any kind (the spec
 * allows arbitrary ones), and one function among them would make postMessage throw.
 */
export function cloneable<T extends object>(value: T): T {
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) {
    try {
      copy[key] = structuredClone(field);
    } catch {
      // Not data: no worker-side code reads it.
    }
  }
  return copy as T;
}
