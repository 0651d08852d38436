import { setMaxListeners } from 'node:events';
import { type Backend, type BackendEnv, withTransfer } from './backend.js';
import { type Supports, usedCapabilities } from '../capabilities.js';
import { DownloaderConfig, type DownloaderConfigInput, type ResolvedConfig, withDefaults } from '../config.js';
import { type DownloadEventListener, emit } from './events.js';
import { NectarArgumentError, NectarError, toNectarError } from '../errors.js';
import type { TransferJob } from './job.js';
import { ConcurrencyLimit } from '../limits/concurrency.js';
import { BytesInFlight } from '../limits/bytes-in-flight.js';
import { HostLimits, type LimitChanges, hostLimitSettings, limitChanges } from '../limits/per-host.js';
import { SpeedLimiter } from '../limits/speed.js';
import { type ProxySettings, proxyFromConfig } from '../http/proxy.js';
import { basicAuthorization, userinfoAuthorization } from '../http/headers.js';
import { Redactor, headerSecrets, urlSecrets } from '../redact.js';
import { DownloadReport } from '../report.js';
import { DownloadRequest, type DownloadRequestJSON, describe } from '../request.js';
import { closeSource, isThenable, iterate, untilAborted } from './request-source.js';
import { settledStream } from './settled-stream.js';
import type { EngineLimits, TransferContext } from './attempts.js';
import { isSkip } from './after-headers.js';
import { resyncTransfer } from '../state/resync.js';
import { StoreHandle } from '../state/store-handle.js';
import { type TlsMaterial, loadTlsMaterial } from '../tls/material.js';

export interface DownloadOptions {
  /** Cancels this call: requests in flight end 'canceled', the rest are not read. */
  signal?: AbortSignal;
}

export type RequestLike<D = unknown> = DownloadRequest<D> | DownloadRequestJSON<D>;
export type RequestSource<D = unknown> = Iterable<RequestLike<D>> | AsyncIterable<RequestLike<D>>;

/** What the per-request hook gets: one admitted request, its report, and its cancel signal. */
export interface RequestRun<D = unknown> {
  readonly request: DownloadRequest<D>;
  readonly report: DownloadReport<D>;
  /** Aborted by cancel(), close(), the call's signal and the request's own. */
  readonly signal: AbortSignal;
  /**
   * Fires downloadStarted (once; later calls do nothing), the report's startTime set to `at`.
   * The engine calls it before runRequest() unless `startsOnAdmission` is false: then the hook
   * calls it when the transfer really starts (a queue: when a worker takes the job). A request
   * that fails unstarted is started by the engine first; one canceled unstarted fires only
   * downloadCanceled.
   */
  readonly started: (at?: Date) => void;
}

/** What a report is made from: the request's url (masked), destination and data. */
export type ReportInit<D = unknown> = Pick<DownloadRequest<D>, 'url' | 'destination' | 'data'>;

const noListener: DownloadEventListener = {};

/**
 * The downloader API of the spec — the engine. Its public methods are final: they validate,
 * read requests lazily, schedule, keep the event frame and report. Variation lives in hooks:
 * - a backend (a plain `Backend` object given to the constructor, or the class form: a subclass
 *   that declares `schemes`/`supports` and overrides `transfer()`), opened once with the
 *   downloader's settings, TLS material, proxy and limits;
 * - `runRequest()`, one request from admission to its outcome (default: destination, attempts,
 *   mirrors, verification), which a downloader that hands requests elsewhere (a queue) overrides.
 */
export abstract class Downloader {
  readonly config: DownloaderConfig;
  readonly listener: DownloadEventListener;
  /** URL schemes served, without colon: ['http', 'https']. */
  abstract readonly schemes: readonly string[];
  abstract readonly supports: Supports;

  /** The config with defaults filled in. */
  protected readonly settings: ResolvedConfig;
  readonly #limits: EngineLimits;
  #cancel = unlimited(new AbortController());
  #closed = false;
  readonly #runs = new Set<Promise<void>>();
  readonly #claimed = new Set<string>();
  #tls: Promise<TlsMaterial> | undefined;
  #proxy: ProxySettings | null | undefined;
  /** Masks the config's secrets (and, per request, the request's) in everything we produce. */
  readonly #redactor: Redactor;
  /** One redactor per request, built once: its report URL, finalUrl and errorReport all use it. */
  readonly #redactors = new WeakMap<DownloadRequest, Redactor>();
  #classForm: Backend | undefined;
  /** Each backend is opened once, with this downloader's env, before its first transfer. */
  readonly #opened = new WeakMap<Backend, Promise<void>>();
  /** config.state, opened on first use. */
  readonly #state: StoreHandle;

  constructor(config: DownloaderConfig | DownloaderConfigInput = new DownloaderConfig(), listener: DownloadEventListener = noListener) {
    const resolved = config instanceof DownloaderConfig ? config : new DownloaderConfig(config);
    if (typeof listener !== 'object' || listener === null) {
      throw new NectarArgumentError(`listener must be an object with download* methods, got ${describe(listener)}`);
    }
    this.config = resolved;
    this.listener = listener;
    this.settings = withDefaults(resolved);
    this.#redactor = configRedactor(this.settings);
    this.#state = new StoreHandle(this.settings.state);
    this.#limits = {
      concurrency: new ConcurrencyLimit(this.settings.maxConcurrent),
      speed: this.settings.maxSpeed === undefined ? null : new SpeedLimiter(this.settings.maxSpeed),
      hosts: new HostLimits(hostLimitSettings(this.settings), this.settings),
      bytes: this.settings.maxBytesInFlight === undefined ? null : new BytesInFlight(this.settings.maxBytesInFlight),
    };
  }

  /**
   * The backend this downloader runs, as a plain object. For the class form (a subclass that
   * declares `schemes`/`supports` and overrides `transfer()`) it wraps the subclass's hooks;
   * `ComposedDownloader` returns the backend it was given.
   */
  get backend(): Backend {
    this.#classForm ??= {
      name: this.constructor.name,
      schemes: this.schemes,
      supports: this.supports,
      open: (env) => this.open(env),
      transfer: (job) => this.transfer(job),
      close: () => this.close(),
    };
    return this.#classForm;
  }

  /** The class form's hook: moves the bytes of one attempt into `job.sink` (or `job.tempPath`). */
  protected abstract transfer(job: TransferJob): Promise<void>;

  /** The class form's open hook: once, before the first transfer, with the downloader's env. */
  protected async open(_env: BackendEnv): Promise<void> {}

  /** Releases pools, sockets and workers; called once by close(). */
  protected async release(): Promise<void> {}

  /** The report of one admitted request; a downloader with richer reports returns a subclass. */
  protected createReport<D>(init: ReportInit<D>): DownloadReport<D> {
    return new DownloadReport(init);
  }

  /**
   * Whether downloadStarted fires when a request is admitted (the default) or when runRequest()
   * calls `run.started()` — for a downloader whose requests wait elsewhere before they run.
   */
  protected get startsOnAdmission(): boolean {
    return true;
  }

  /**
   * One request from admission to its outcome: resolves when it succeeded, throws why it failed.
   * The engine has fired downloadStarted (unless `startsOnAdmission` is false: see `run.started`)
   * and fires exactly one terminal event after.
   */
  protected async runRequest<D>(run: RequestRun<D>): Promise<void> {
    const { request, report, signal } = run;
    const backends = new Map<string, Backend>();
    const context: TransferContext<D> = {
      request,
      report,
      signal,
      settings: this.settings,
      limits: this.#limits,
      listener: this.listener,
      redactor: this.#redactorFor(request),
      tls: () => this.#tlsMaterial(),
      proxy: this.#proxySettings(),
      route: async (url) => {
        let backend = backends.get(url.href);
        if (backend === undefined) {
          backend = await this.#route(url);
          // Checked before it is kept: a backend that cannot serve the request is never reused for it.
          this.#checkSupports(backend, request);
          backends.set(url.href, backend);
        }
        return backend;
      },
    };
    await resyncTransfer(context, await this.#state.get());
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

  /**
   * Changes the per-origin limits (`maxPerHost`, `hostRate`, `maxSpeedPerHost`; null lifts one)
   * for the calls in progress and later ones: waiting requests are re-timed at once, a body's
   * next chunk reads the new byte budget.
   */
  setLimits(limits: LimitChanges): void {
    this.#limits.hosts.set(limitChanges(limits));
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
    await this.#state.close();
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
          const step = iterator.next();
          if (isThenable(step)) {
            pending = Promise.resolve(step);
            // A source that never yields again must not hold a cancel or close() forever.
            next = await untilAborted(pending, signal);
            if (next !== null) pending = null;
          } else {
            // An array or a generator answers at once: no race with the signal to set up per request.
            next = step;
          }
        } catch (error) {
          concurrency.release();
          throw error;
        }
        if (next === null || next.done === true) {
          exhausted = next !== null;
          concurrency.release();
          break;
        }
        const { request, report } = admit(next.value, this.#redactor, (r) => this.#redactorFor(r), (init) => this.createReport(init));
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
    const signal = request instanceof DownloadRequest && request.signal ? AbortSignal.any([runSignal, request.signal]) : runSignal;
    if (signal.aborted) return this.#finish(report, 'canceled');
    let started = false;
    const start = (at: Date = new Date()): void => {
      if (started) return;
      started = true;
      report.state = 'downloading';
      report.startTime = at;
      emit(this.listener, 'downloadStarted', report);
    };
    if (this.startsOnAdmission || request instanceof Error) start();
    let claim: string | undefined;
    try {
      if (request instanceof Error) throw request;
      claim = this.#claim(request);
      await this.runRequest({ request, report, signal, started: start });
      start();
      report.state = 'succeeded';
    } catch (error) {
      if ((signal.aborted && !(error instanceof NectarError && error.code === 'NECTAR_TIMEOUT')) || isSkip(error)) {
        report.state = 'canceled';
      } else {
        start();
        report.state = 'failed';
        const redactor = request instanceof DownloadRequest ? this.#redactorFor(request) : this.#redactor;
        report.errorReport = errorReport(toNectarError(error), report, redactor);
      }
    } finally {
      if (claim !== undefined) this.#claimed.delete(claim);
    }
    // Canceled before it started: nothing ran, so no progress either.
    if (!started) return this.#finish(report, 'canceled');
    emit(this.listener, 'downloadProgress', report);
    this.#finish(report, report.state);
  }

  #finish<D>(report: DownloadReport<D>, state: 'succeeded' | 'failed' | 'canceled'): void {
    report.state = state;
    report.finishTime = new Date();
    emit(this.listener, state === 'succeeded' ? 'downloadSucceeded' : state === 'failed' ? 'downloadFailed' : 'downloadCanceled', report);
  }

  #redactorFor(request: DownloadRequest): Redactor {
    let redactor = this.#redactors.get(request);
    if (redactor === undefined) {
      redactor = requestRedactor(this.#redactor, request);
      this.#redactors.set(request, redactor);
    }
    return redactor;
  }

  /** The backend that serves one URL, opened: the given or class-form one, or what a router picks. */
  async #route(url: URL): Promise<Backend> {
    const own = this.backend;
    const backend = own.route === undefined ? own : await own.route(url);
    if (own.route === undefined) {
      const scheme = url.protocol.slice(0, -1);
      if (!own.schemes.includes(scheme)) {
        throw new NectarError('NECTAR_UNSUPPORTED_SCHEME', `${own.name} does not serve ${scheme}: URLs (it serves ${own.schemes.join(', ')})`, {
          details: { scheme },
        });
      }
    }
    await this.#open(own);
    if (backend !== own) await this.#open(backend);
    return backend;
  }

  #open(backend: Backend): Promise<void> {
    let opened = this.#opened.get(backend);
    if (opened === undefined) {
      opened = this.#tlsMaterial().then((tls) => backend.open?.({ settings: this.settings, tls, proxy: this.#proxySettings(), limits: this.#limits }));
      this.#opened.set(backend, opened);
    }
    return opened;
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

  #checkSupports(backend: Backend, request: DownloadRequest): void {
    for (const { capability, field } of usedCapabilities(this.settings, request)) {
      if (!backend.supports[capability]) {
        throw new NectarError('NECTAR_NOT_SUPPORTED', `${field} is not supported by ${backend.name} (capability '${capability}')`, {
          details: { field, capability },
        });
      }
    }
  }
}

/**
 * A downloader that composes a backend object: `new ComposedDownloader(backend, config, listener)`.
 * Backend packages build their class on it (`class UndiciDownloader extends ComposedDownloader`);
 * a registry's downloader composes a router.
 */
export class ComposedDownloader extends Downloader {
  readonly #backend: Backend;
  /** The backend as the engine runs it: its own hooks, but transfer() through this class, so a subclass may wrap it. */
  readonly #view: Backend;

  constructor(backend: Backend, config?: DownloaderConfig | DownloaderConfigInput, listener?: DownloadEventListener) {
    super(config, listener);
    if (typeof backend !== 'object' || backend === null || typeof backend.transfer !== 'function' || !Array.isArray(backend.schemes)) {
      throw new NectarArgumentError(`backend must be an object with name, schemes, supports and transfer(), got ${describe(backend)}`);
    }
    this.#backend = backend;
    this.#view = withTransfer(backend, (job) => this.transfer(job));
  }

  get schemes(): readonly string[] {
    return this.#backend.schemes;
  }

  /** Read live: a router's supports grow as it creates backends. */
  get supports(): Supports {
    return this.#backend.supports;
  }

  override get backend(): Backend {
    return this.#view;
  }

  protected transfer(job: TransferJob): Promise<void> {
    return this.#backend.transfer(job);
  }

  protected override async release(): Promise<void> {
    await this.#backend.close?.();
  }
}


/** Every request in flight listens on its run's signal: the default cap of 10 listeners is too low. */
function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

/** A bad item becomes a failed report naming the problem, not a rejected download(). */
function admit<D>(
  item: RequestLike<D>,
  redactor: Redactor,
  redactorFor: (request: DownloadRequest) => Redactor,
  createReport: (init: ReportInit<D>) => DownloadReport<D>,
): { request: DownloadRequest<D> | Error; report: DownloadReport<D> } {
  try {
    const request = DownloadRequest.from(item);
    const { destination, data } = request;
    return { request, report: createReport({ url: redactorFor(request).url(request.url), destination, data }) };
  } catch (error) {
    const loose = (typeof item === 'object' && item !== null ? item : {}) as Partial<DownloadRequestJSON<D>>;
    const report = createReport({
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

/**
 * The secrets a config holds: they are masked in every report of its downloader. The
 * Authorization values core builds from them count too: a server may quote the header it got.
 */
function configRedactor(settings: ResolvedConfig): Redactor {
  const proxy = settings.proxyUrl === undefined ? [] : urlSecrets(settings.proxyUrl);
  const built: Record<string, string> = {};
  if (settings.basicAuthUsername !== undefined) built.authorization = basicAuthorization(settings.basicAuthUsername, settings.basicAuthPassword ?? '');
  const proxyAuthorization = proxyFromConfig(settings)?.authorization;
  if (proxyAuthorization !== undefined) built['proxy-authorization'] = proxyAuthorization;
  const secrets = [settings.basicAuthPassword, settings.proxyPassword, settings.sslClientKeyPassphrase, ...proxy, ...headerSecrets(settings.headers ?? {}), ...headerSecrets(built)];
  return new Redactor(secrets, settings.redactParams ?? []);
}

function requestRedactor(base: Redactor, request: DownloadRequest): Redactor {
  const urls = [request.url, ...request.mirrors];
  return base.with([...urls.flatMap((url) => urlSecrets(url, base.params)), ...headerSecrets(request.headers), ...urls.flatMap(userinfoSecrets)]);
}

/** The Authorization core builds from a URL's userinfo (http/headers.ts), as the server receives it. */
function userinfoSecrets(url: string): string[] {
  try {
    const authorization = userinfoAuthorization(url);
    return authorization === null ? [] : headerSecrets({ authorization });
  } catch {
    // Undecodable: no header is ever built from it, so nothing to mask.
    return [];
  }
}
