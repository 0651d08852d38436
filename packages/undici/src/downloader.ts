import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Downloader, type DownloaderConfig, type DownloaderConfigInput, type DownloaderConfigOptions, type DownloadEventListener, type Supports, type TransferJob, supportsAll } from '@nectar/core/backend';
import { failureContext } from '@nectar/core/http';
import type { Dispatcher } from 'undici';
import { transferError } from './errors.js';
import { type Response, dropBody, readAnswer, requestFinal } from './http-exchange.js';
import { cloneableConfig } from './thread-messages.js';
import { segmentCount, threadCount } from './thread-count.js';
import { WorkerPool } from './worker-pool.js';

/** core's config fields, and the one this backend adds. */
export interface UndiciConfigOptions extends DownloaderConfigOptions {
  /** Worker threads that run transfers (default: the available parallelism, at most 4); 0 runs them in-process. */
  threads?: number;
  /** In threaded mode, fetch one large file served in ranges over up to this many connections (default 1: never). */
  segments?: number;
}

/**
 * Nectar's HTTP(S) downloader on undici: keep-alive pools per origin, proxies through undici's
 * ProxyAgent, bodies streamed straight into their destination. Transfers run on a pool of worker
 * threads (`config.threads`), each with its own undici dispatcher, writing the part file itself;
 * `threads: 0` runs them on the main thread, streaming into core's sink.
 */
export class UndiciDownloader extends Downloader {
  readonly schemes: readonly string[] = ['http', 'https'];
  readonly supports: Supports = supportsAll(true);
  /** Worker threads that run transfers; 0: in-process. */
  readonly threads: number;
  /** Connections one large file may be fetched over, in threaded mode; 1: never split. */
  readonly segments: number;
  #dispatcher: Dispatcher | undefined;
  #pool: WorkerPool | undefined;

  constructor(config?: DownloaderConfig | UndiciConfigOptions | DownloaderConfigInput, listener?: DownloadEventListener) {
    super(config, listener);
    this.threads = threadCount(this.settings);
    this.segments = segmentCount(this.settings);
  }

  protected async transfer(job: TransferJob): Promise<void> {
    if (this.threads > 0) return this.#workers(job).run(job);
    const context = failureContext(job);
    try {
      const { response, url } = await requestFinal(await this.#inProcessDispatcher(job), job, context);
      await receive(job, response, url);
    } catch (error) {
      // A cancel or a whole-request timeout: core recognises its own abort and reports it.
      if (job.signal.aborted) throw error;
      throw transferError(error, context);
    }
  }

  protected override async release(): Promise<void> {
    const dispatcher = this.#dispatcher;
    const pool = this.#pool;
    this.#dispatcher = undefined;
    this.#pool = undefined;
    await Promise.all([dispatcher?.close(), pool?.close()]);
  }

  /** The worker pool, for tests that kill a worker; undefined before the first threaded transfer. */
  get workerPool(): WorkerPool | undefined {
    return this.#pool;
  }

  /**
   * Built on the first transfer, when core has loaded the TLS material, then shared by all.
   * undici is loaded here, not on import: in threaded mode only the workers need it, and the main
   * thread saves its start-up time and memory.
   */
  async #inProcessDispatcher(job: TransferJob): Promise<Dispatcher> {
    if (this.#dispatcher === undefined) {
      const { createDispatcher } = await import('./dispatcher.js');
      this.#dispatcher ??= createDispatcher({ config: job.config, tls: job.tls, proxy: job.proxy });
    }
    return this.#dispatcher;
  }

  #workers(job: TransferJob): WorkerPool {
    this.#pool ??= new WorkerPool(this.threads, {
      config: cloneableConfig(job.config),
      tls: job.tls,
      proxy: job.proxy === null ? null : { ...job.proxy, url: job.proxy.url.href },
    }, this.segments);
    return this.#pool;
  }
}

/** Checks the final response, tells core what it learned, and streams the body into the sink. */
async function receive(job: TransferJob, response: Response, url: URL): Promise<void> {
  try {
    const { response: answer, decoders } = await readAnswer(job, response, url);
    await job.responded(answer);
    if (decoders === null) return;
    await pipeline([response.body, ...decoders, job.sink] as [Readable, ...NodeJS.ReadWriteStream[], NodeJS.WritableStream]);
  } catch (error) {
    // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
    dropBody(response.body);
    throw error;
  }
}
