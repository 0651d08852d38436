import { ComposedDownloader, type DownloaderConfig, type DownloaderConfigInput, type DownloaderConfigOptions, type DownloadEventListener } from '@nectar/core/backend';
import { type WorkerPool, threadCount } from '@nectar/core/threads';
import { type UndiciBackend, undiciBackend } from './backend.js';

/** core's config fields (`threads` and `segments` among them: core's executor and core's segments serve this backend). */
export type UndiciConfigOptions = DownloaderConfigOptions;

/**
 * Nectar's HTTP(S) downloader on undici: core's engine over `undiciBackend()`. Transfers run on the
 * main thread, each body chunk written straight to the part file; with `config.threads` > 0 they
 * run in core's worker pool, each worker with its own undici dispatcher.
 */
export class UndiciDownloader extends ComposedDownloader {
  /** Worker threads that run transfers; 0: in-process. */
  readonly threads: number;
  /** Connections one large file may be fetched over (core's segments); 1: never split. */
  readonly segments: number;
  readonly #undici: UndiciBackend;

  constructor(config?: DownloaderConfig | UndiciConfigOptions | DownloaderConfigInput, listener?: DownloadEventListener) {
    // The backend reads threads and segments from the same settings when the engine opens it.
    const backend = undiciBackend();
    super(backend, config, listener);
    this.#undici = backend;
    // Checked here too, so that a bad value fails when the downloader is built, not at its first request.
    this.threads = threadCount(this.settings.threads);
    this.segments = this.settings.segments ?? 1;
  }

  /** The worker pool, for tests that kill a worker; undefined in-process, before the first download and after close(). */
  get workerPool(): WorkerPool | undefined {
    return this.#undici.workerPool;
  }
}
