import { setMaxListeners } from 'node:events';
import { type Supports, usedCapabilities } from './capabilities.js';
import { DownloaderConfig, type DownloaderConfigInput, type ResolvedConfig, withDefaults } from './config.js';
import { type DownloadEventListener, emit } from './events.js';
import { NectarArgumentError, NectarError, toNectarError } from './errors.js';
import type { TransferJob } from './job.js';
import { ConcurrencyLimit } from './limits/concurrency.js';
import { SpeedLimiter } from './limits/speed.js';
import { type ProxySettings, proxyFromConfig } from './proxy.js';
import { Redactor, headerSecrets, urlSecrets } from './redact.js';
import { DownloadReport } from './report.js';
import { DownloadRequest, type DownloadRequestJSON, describe } from './request.js';
import { settledStream } from './settled-stream.js';
import { runTransfer } from './transfer.js';
import { type TlsMaterial, loadTlsMaterial } from './tls.js';

export interface DownloadOptions {
  /** Cancels this call: requests in flight end 'canceled', the rest are not read. */
  signal?: AbortSignal;
}

export type RequestLike<D = unknown> = DownloadRequest<D> | DownloadRequestJSON<D>;
export type RequestSource<D = unknown> = Iterable<RequestLike<D>> | AsyncIterable<RequestLike<D>>;

/** The backend that serves one URL: what it supports and how it moves bytes. */
export interface Route {
  readonly name: string;
  readonly supports: Supports;
  transfer(job: TransferJob): Promise<void>;
}

/** What every request of a downloader shares: one concurrency bound, one speed budget. */
export interface SharedLimits {
  readonly concurrency: ConcurrencyLimit;
  readonly speed: SpeedLimiter | null;
}

const noListener: DownloadEventListener = {};

/**
 * The downloader API of the spec. Public methods validate, schedule, report and emit; a backend
 * overrides `transfer()`, which moves the bytes of one attempt at one request, and nothing else.
 */
export abstract class Downloader {
  readonly config: DownloaderConfig;
  readonly listener: DownloadEventListener;
  /** URL schemes served, without colon: ['http', 'https']. */
  abstract readonly schemes: readonly string[];
  abstract readonly supports: Supports;

  /** The config with defaults filled in. */
  protected readonly settings: ResolvedConfig;
  readonly #limits: SharedLimits;
  #cancel = unlimited(new AbortController());
  #closed = false;
  readonly #runs = new Set<Promise<void>>();
  readonly #claimed = new Set<string>();
  #tls: Promise<TlsMaterial> | undefined;
  #proxy: ProxySettings | null | undefined;
  /** Masks the config's secrets (and, per request, the request's) in everything we produce. */
  readonly #redactor: Redactor;

  constructor(config: DownloaderConfig | DownloaderConfigInput = new DownloaderConfig(), listener: DownloadEventListener = noListener) {
    const resolved = config instanceof DownloaderConfig ? config : new DownloaderConfig(config);
    if (typeof listener !== 'object' || listener === null) {
      throw new NectarArgumentError(`listener must be an object with download* methods, got ${describe(listener)}`);
    }
    this.config = resolved;
    this.listener = listener;
    this.settings = withDefaults(resolved);
    this.#redactor = configRedactor(this.settings);
    this.#limits = {
      concurrency: new ConcurrencyLimit(this.settings.maxConcurrent),
      speed: this.settings.maxSpeed === undefined ? null : new SpeedLimiter(this.settings.maxSpeed),
    };
  }

  /** Moves the bytes of one attempt at one request into `job.sink` (or `job.tempPath`). */
  protected abstract transfer(job: TransferJob): Promise<void>;

  /** Releases pools, sockets and workers; called once by close(). */
  protected async release(): Promise<void> {}

  /** The backend for one URL. A registry's downloader overrides this to route by scheme. */
  protected route(url: URL): Route | Promise<Route> {
    const scheme = url.protocol.slice(0, -1);
    if (!this.schemes.includes(scheme)) {
      throw new NectarError('NECTAR_UNSUPPORTED_SCHEME', `${this.constructor.name} does not serve ${scheme}: URLs (it serves ${this.schemes.join(', ')})`, {
        details: { scheme },
      });
    }
    return { name: this.constructor.name, supports: this.supports, transfer: (job) => this.transfer(job) };
  }

  /** Lets a routing downloader call another downloader's protected hook. */
  protected static routeOf(downloader: Downloader, url: URL): Route | Promise<Route> {
    return downloader.route(url);
  }

  /** Downloads every request; settles when each one is succeeded, failed or canceled. */
  async download<D = unknown>(requests: RequestSource<D>, options: DownloadOptions = {}): Promise<DownloadReport<D>[]> {
    const reports: DownloadReport<D>[] = [];
    await this.#track(this.#schedule(requests, this.#signal(options), (r) => reports.push(r)));
    return reports;
  }

  /**
   * Yields each report as it settles, holding only the requests in flight: the way to run millions.
   * Breaking out of the loop cancels what is still in flight.
   */
  async *stream<D = unknown>(requests: RequestSource<D>, options: DownloadOptions = {}): AsyncGenerator<DownloadReport<D>, void, undefined> {
    const stop = new AbortController();
    const signal = AbortSignal.any([this.#signal(options), stop.signal]);
    setMaxListeners(0, signal);
    yield* settledStream<DownloadReport<D>>(
      (hooks) => this.#track(this.#schedule(requests, signal, () => {}, hooks.gate, hooks.onSettle)),
      { bound: this.settings.maxConcurrent, signal, stop },
    );
  }

  /** Cancels every download()/stream() in progress on this instance; the instance stays usable. */
  cancel(): void {
    const previous = this.#cancel;
    this.#cancel = unlimited(new AbortController());
    previous.abort(new NectarError('NECTAR_CANCELED', 'canceled by cancel()'));
  }

  /** Cancels what is in flight, waits for it to settle, then releases every handle. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.cancel();
    await Promise.allSettled(this.#runs);
    await this.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #signal(options: DownloadOptions): AbortSignal {
    if (this.#closed) throw new NectarError('NECTAR_CLOSED', `${this.constructor.name} is closed`);
    if (typeof options !== 'object' || options === null) {
      throw new NectarArgumentError(`options must be an object, got ${describe(options)}`);
    }
    if (options.signal === undefined) return this.#cancel.signal;
    if (!(options.signal instanceof AbortSignal)) {
      throw new NectarArgumentError(`options.signal must be an AbortSignal, got ${describe(options.signal)}`);
    }
    const signal = AbortSignal.any([this.#cancel.signal, options.signal]);
    setMaxListeners(0, signal);
    return signal;
  }

  async #track(run: Promise<void>): Promise<void> {
    this.#runs.add(run);
    try {
      await run;
    } finally {
      this.#runs.delete(run);
    }
  }

  /**
   * Reads requests lazily: a slot is taken before the next request is pulled, so no more than
   * maxConcurrent are ever read ahead of their completion.
   */
  async #schedule<D>(
    source: RequestSource<D>,
    signal: AbortSignal,
    onAdmit: (report: DownloadReport<D>) => void,
    gate?: () => Promise<void>,
    onSettle?: (report: DownloadReport<D>) => void,
  ): Promise<void> {
    const iterator = iterate(source);
    const running = new Set<Promise<void>>();
    const { concurrency } = this.#limits;
    let exhausted = false;
    let pending: Promise<IteratorResult<RequestLike<D>>> | null = null;
    try {
      while (!signal.aborted) {
        await gate?.();
        if (!(await concurrency.acquire(signal))) break;
        let next: IteratorResult<RequestLike<D>> | null;
        try {
          pending = Promise.resolve(iterator.next());
          // A source that never yields again must not hold a cancel or close() forever.
          next = await untilAborted(pending, signal);
          if (next !== null) pending = null;
        } catch (error) {
          concurrency.release();
          throw error;
        }
        if (next === null || next.done === true) {
          exhausted = next !== null;
          concurrency.release();
          break;
        }
        const { request, report } = admit(next.value, this.#redactor);
        onAdmit(report);
        const task = this.#settle(request, report, signal).finally(() => {
          concurrency.release();
          running.delete(task);
          onSettle?.(report);
        });
        running.add(task);
      }
    } finally {
      await Promise.all(running);
      if (!exhausted) await closeSource(iterator, pending);
    }
  }

  /** One request from waiting to its terminal state, with exactly one terminal event. */
  async #settle<D>(request: DownloadRequest<D> | Error, report: DownloadReport<D>, runSignal: AbortSignal): Promise<void> {
    const redactor = request instanceof DownloadRequest ? requestRedactor(this.#redactor, request) : this.#redactor;
    const signal = request instanceof DownloadRequest && request.signal ? AbortSignal.any([runSignal, request.signal]) : runSignal;
    if (signal.aborted) return this.#finish(report, 'canceled');
    report.state = 'downloading';
    report.startTime = new Date();
    emit(this.listener, 'downloadStarted', report);
    let claim: string | undefined;
    try {
      if (request instanceof Error) throw request;
      claim = this.#claim(request);
      const routes = new Map<string, Route>();
      await runTransfer({
        request,
        report,
        signal,
        settings: this.settings,
        limits: this.#limits,
        listener: this.listener,
        redactor,
        tls: () => this.#tlsMaterial(),
        proxy: this.#proxySettings(),
        route: async (url) => {
          const route = routes.get(url.href) ?? (await this.route(url));
          routes.set(url.href, route);
          this.#checkSupports(route, request);
          return route;
        },
      });
      report.state = 'succeeded';
    } catch (error) {
      if (signal.aborted && !(error instanceof NectarError && error.code === 'NECTAR_TIMEOUT')) {
        report.state = 'canceled';
      } else {
        report.state = 'failed';
        report.errorReport = errorReport(toNectarError(error), report, redactor);
      }
    } finally {
      if (claim !== undefined) this.#claimed.delete(claim);
    }
    emit(this.listener, 'downloadProgress', report);
    this.#finish(report, report.state);
  }

  #finish<D>(report: DownloadReport<D>, state: 'succeeded' | 'failed' | 'canceled'): void {
    report.state = state;
    report.finishTime = new Date();
    emit(this.listener, state === 'succeeded' ? 'downloadSucceeded' : state === 'failed' ? 'downloadFailed' : 'downloadCanceled', report);
  }

  /** Loaded on first use and shared by every request: PEM files are read once. */
  #tlsMaterial(): Promise<TlsMaterial> {
    this.#tls ??= loadTlsMaterial(this.settings);
    return this.#tls;
  }

  #proxySettings(): ProxySettings | null {
    if (this.#proxy === undefined) this.#proxy = proxyFromConfig(this.settings);
    return this.#proxy;
  }

  #claim(request: DownloadRequest): string | undefined {
    if (typeof request.destination !== 'string') return undefined;
    if (this.#claimed.has(request.destination)) {
      throw new NectarError('NECTAR_DUPLICATE_DESTINATION', `${request.destination} is already the destination of a request in flight`, {
        details: { destination: request.destination },
      });
    }
    this.#claimed.add(request.destination);
    return request.destination;
  }

  #checkSupports(route: Route, request: DownloadRequest): void {
    for (const { capability, field } of usedCapabilities(this.settings, request)) {
      if (!route.supports[capability]) {
        throw new NectarError('NECTAR_NOT_SUPPORTED', `${field} is not supported by ${route.name} (capability '${capability}')`, {
          details: { field, capability },
        });
      }
    }
  }
}

/** Every request in flight listens on its run's signal: the default cap of 10 listeners is too low. */
function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/** The iterator's result, or null once the signal aborts (the read itself is abandoned). */
async function untilAborted<T>(read: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return null;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([read, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

/**
 * Lets the source clean up (a generator's finally blocks). Not awaited while a read is still
 * pending: an async generator queues return() behind it, and that read may never end.
 */
async function closeSource<T>(iterator: AsyncIterator<T> | Iterator<T>, pending: Promise<unknown> | null): Promise<void> {
  try {
    if (pending === null) {
      await iterator.return?.();
      return;
    }
    pending.catch(() => {});
    Promise.resolve(iterator.return?.()).catch(() => {});
  } catch {
    // A source whose return() throws has nothing left for us to release.
  }
}

function iterate<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> | Iterator<T> {
  if (source !== null && typeof source === 'object') {
    const asyncFactory = (source as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof asyncFactory === 'function') return asyncFactory.call(source);
    const factory = (source as Iterable<T>)[Symbol.iterator];
    if (typeof factory === 'function' && typeof source !== 'string') return factory.call(source);
  }
  throw new NectarArgumentError(`requests must be an Iterable or AsyncIterable of DownloadRequest, got ${describe(source)}`);
}

/** A bad item becomes a failed report naming the problem, not a rejected download(). */
function admit<D>(item: RequestLike<D>, redactor: Redactor): { request: DownloadRequest<D> | Error; report: DownloadReport<D> } {
  try {
    const request = DownloadRequest.from(item);
    const { destination, data } = request;
    return { request, report: new DownloadReport({ url: requestRedactor(redactor, request).url(request.url), destination, data }) };
  } catch (error) {
    const loose = (typeof item === 'object' && item !== null ? item : {}) as Partial<DownloadRequestJSON<D>>;
    const report = new DownloadReport<D>({
      url: redactor.url(typeof loose.url === 'string' ? loose.url : String(loose.url ?? '')),
      destination: typeof loose.destination === 'string' ? loose.destination : '',
      data: loose.data as D,
    });
    const invalid = new NectarError('NECTAR_INVALID_REQUEST', (error as Error).message, { cause: error });
    return { request: invalid, report };
  }
}

/** The failure as plain data, every string in it masked: backends' messages may quote anything. */
function errorReport(error: NectarError, report: DownloadReport, redactor: Redactor): Record<string, unknown> {
  const result: Record<string, unknown> = {
    message: error.message,
    code: error.code,
    url: report.url,
    ...error.details,
    attempts: report.attempts,
  };
  const cause = error.cause;
  if (cause instanceof Error && cause.message !== error.message) result.cause = cause.message;
  return redactor.value(result) as Record<string, unknown>;
}

/** The secrets a config holds: they are masked in every report of its downloader. */
function configRedactor(settings: ResolvedConfig): Redactor {
  const proxy = settings.proxyUrl === undefined ? [] : urlSecrets(settings.proxyUrl);
  const secrets = [settings.basicAuthPassword, settings.proxyPassword, settings.sslClientKeyPassphrase, ...proxy, ...headerSecrets(settings.headers ?? {})];
  return new Redactor(secrets, settings.redactParams ?? []);
}

function requestRedactor(base: Redactor, request: DownloadRequest): Redactor {
  const urls = [request.url, ...request.mirrors].flatMap((url) => urlSecrets(url, base.params));
  return base.with([...urls, ...headerSecrets(request.headers)]);
}
