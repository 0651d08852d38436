import type { DownloadOutcome } from '../report.js';

/**
 * What the state store knows of one destination after a request to it succeeded: enough to ask
 * the server "has it changed?" next time, to trust the copy on disk while it is untouched, and to
 * find the same bytes for another destination.
 */
export interface StateRecord {
  /** The absolute path: the key. */
  readonly destination: string;
  /** The request's URL with its secrets masked: a store is a file on disk, never a place for passwords. */
  readonly url: string;
  readonly etag: string | null;
  readonly lastModified: string | null;
  /** The file's size and modification time as written: a copy that differs was touched since. */
  readonly size: number;
  /** `stat().mtimeNs` as a decimal string: exact, where milliseconds as a float are not. */
  readonly mtimeNs: string;
  /** `algorithm:hex` of the bytes, when a request's expectedDigest verified them; else null. */
  readonly digest: string | null;
  readonly outcome: DownloadOutcome;
  /** When the record was written, in ms since the epoch. */
  readonly updatedAt: number;
}

/**
 * Where a downloader keeps StateRecords (`config.state`). The embedded one is SqliteStateStore;
 * any other (a shared database, a test double) implements these five methods. Calls may come
 * from many requests at once; a store shared by processes must keep each put atomic.
 */
export interface StateStore {
  get(destination: string): Promise<StateRecord | undefined>;
  put(record: StateRecord): Promise<void>;
  delete(destination: string): Promise<void>;
  /** Up to `limit` records of files whose digest is `digest` (`algorithm:hex`): copies to reuse. */
  withDigest(digest: string, limit: number): Promise<StateRecord[]>;
  close(): Promise<void>;
}

/** The key of a digest in a store: one spelling, so that the same bytes always meet. */
export function digestKey(digest: { readonly algorithm: string; readonly value: string }): string {
  return `${digest.algorithm.toLowerCase()}:${digest.value.toLowerCase()}`;
}

/** Whether a value is a StateStore (the config takes a path or one). */
export function isStateStore(value: unknown): value is StateStore {
  if (typeof value !== 'object' || value === null) return false;
  const store = value as Record<string, unknown>;
  return ['get', 'put', 'delete', 'withDigest', 'close'].every((name) => typeof store[name] === 'function');
}
