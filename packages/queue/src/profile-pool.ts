import { createHash } from 'node:crypto';
import { type Downloader, DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener, type DownloadReport } from '@nectar/core';

/** Makes the worker's local downloader for one profile (its registry's, gated per host). */
export type DownloaderMaker = (config: DownloaderConfig, listener: DownloadEventListener) => Downloader;
import { profileFields, type TransferProfile } from './job-data.js';

interface Pooled {
  downloader: Downloader;
  users: number;
  idle: NodeJS.Timeout | undefined;
}

/**
 * The worker's local downloaders, one per transfer profile (timeouts, retries… sent by the
 * producer) on top of the worker's own config (speed limit, TLS, proxy, which never travel).
 * A downloader left idle is closed soon, so no connection outlives the work it served.
 */
export class ProfilePool {
  readonly #make: DownloaderMaker;
  readonly #base: DownloaderConfigInput;
  readonly #listener: DownloadEventListener;
  readonly #idleMs: number;
  readonly #fsync: boolean;
  readonly #pool = new Map<string, Pooled>();

  constructor(make: DownloaderMaker, base: DownloaderConfigInput, listener: DownloadEventListener, idleMs: number, fsync: boolean) {
    this.#make = make;
    this.#base = base;
    this.#listener = listener;
    this.#idleMs = idleMs;
    this.#fsync = fsync;
  }

  /** Runs `use` with the downloader of a profile, keeping it open meanwhile. */
  async with<T>(profile: TransferProfile, use: (downloader: Downloader) => Promise<T>): Promise<T> {
    const key = profileKey(profile);
    let pooled = this.#pool.get(key);
    if (pooled === undefined) {
      const config = new DownloaderConfig({ ...this.#base, ...pick(profile), fsync: this.#fsync });
      pooled = { downloader: this.#make(config, this.#listener), users: 0, idle: undefined };
      this.#pool.set(key, pooled);
    }
    clearTimeout(pooled.idle);
    pooled.users++;
    try {
      return await use(pooled.downloader);
    } finally {
      pooled.users--;
      if (pooled.users === 0) pooled.idle = setTimeout(() => this.#retire(key, pooled), this.#idleMs);
    }
  }

  async close(): Promise<void> {
    const all = [...this.#pool.values()];
    this.#pool.clear();
    for (const pooled of all) clearTimeout(pooled.idle);
    await Promise.all(all.map((p) => p.downloader.close()));
  }

  #retire(key: string, pooled: Pooled): void {
    if (pooled.users > 0 || this.#pool.get(key) !== pooled) return;
    this.#pool.delete(key);
    void pooled.downloader.close();
  }
}

/** Only the known transfer fields, validated again here: job data comes from Redis, not from us. */
function pick(profile: TransferProfile): TransferProfile {
  const picked: Record<string, unknown> = {};
  for (const field of profileFields) if (profile[field] !== undefined) picked[field] = profile[field];
  return picked as TransferProfile;
}

function profileKey(profile: TransferProfile): string {
  return createHash('sha1').update(JSON.stringify(profileFields.map((f) => profile[f] ?? null))).digest('hex');
}

export type LocalReport = DownloadReport<RequestTag>;

/** What the worker puts in a local request's `data`: which job and request it belongs to. */
export interface RequestTag {
  readonly onProgress: (report: LocalReport) => void;
}
