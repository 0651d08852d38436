import { ComposedDownloader, type DownloaderConfig, type DownloaderConfigInput, type DownloaderConfigOptions, type DownloadEventListener } from '@nectar/core/backend';
import { type UndiciBackend, undiciBackend } from './backend.js';
import type { WorkerPool } from './threads/pool.js';
import { segmentCount, threadCount } from './threads/thread-count.js';

/** core's config fields, and the ones this backend adds. */
export interface UndiciConfigOptions extends DownloaderConfigOptions {
  /** Worker threads that run transfers (default 0: on the main thread, the fast choice in most cases). */
  threads?: number;
  /** In threaded mode, fetch one large file served in ranges over up to this many connections (default 1: never). */
  segments?: number;
}

/**
 * Nectar's HTTP(S) downloader on undici: core's engine over `undiciBackend()`. Transfers run on the
 * main thread, each body chunk written straight to the part file; with `config.threads` > 0 they
 * run on a pool of worker threads, each with its own undici dispatcher.
 */
export class UndiciDownloader extends ComposedDownloader {
  /** Worker threads that run transfers; 0: in-process. */
  readonly threads: number;
  /** Connections one large file may be fetched over, in threaded mode; 1: never split. */
  readonly segments: number;
  readonly #undici: UndiciBackend;

  constructor(config?: DownloaderConfig | UndiciConfigOptions | DownloaderConfigInput, listener?: DownloadEventListener) {
    // The backend reads threads and segments from the same settings when the engine opens it.
    const backend = undiciBackend();
    super(backend, config, listener);
    this.#undici = backend;
    // Checked here too, so that a bad value fails when the downloader is built, not at its first request.
    this.threads = threadCount(this.settings.threads);
    this.segments = segmentCount(this.settings.segments);
  }

  /** The worker pool, for tests that kill a worker; undefined in-process, before the first download and after close(). */
  get workerPool(): WorkerPool | undefined {
    return this.#undici.workerPool;
  }
}
