import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Downloader, type DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener, type DownloadOptions, DownloadRequest, type DownloadRequestJSON, NectarArgumentError, NectarError, type RequestLike, type RequestSource, redactUrl, type Supports, ConcurrencyLimit, emit, settledStream, supportsAll, closeSource, iterate, toNectarError, type TransferJob, untilAborted, usedCapabilities } from '@nectar/core/backend';
import { type OwnedRedis, openRedis, type RedisConnection } from './connection.js';
import { assertNoSecrets } from './credentials.js';
import { type JobProgressData, type JobRequest, type JobResult, profileFields, type TransferProfile, type WireReport } from './job-data.js';
import { JobWatcher, type WatcherOptions } from './job-watcher.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster } from './naming.js';
import { Enqueuer, type Outgoing, type OutgoingJob, type ProducerOptions } from './producer.js';
import { QueueReport } from './queue-report.js';

export interface QueueDownloaderOptions extends ProducerOptions, WatcherOptions {
  redis: RedisConnection;
  /** The farm's name (default 'nectar'); workers must use the same. */
  cluster?: string;
  /** BullMQ key prefix (default 'bull'). */
  prefix?: string;
  /** Requests in flight (enqueued, not settled) when config.maxConcurrent is not set (default 10,000). */
  maxInFlight?: number;
  /** Names the credential a worker adds to a request (by host, say): secrets never enter Redis. */
  credential?: (request: DownloadRequest) => string | undefined;
  /** How long a cancel waits for the worker to clean up before settling anyway (default 5000 ms). */
  cancelGrace?: number;
  /** URL schemes the workers serve (default http, https, file, sftp): informational. */
  schemes?: readonly string[];
}

/** A request of this producer, from admission to its terminal event. */
interface Entry<D = unknown> extends Outgoing {
  readonly request: DownloadRequest<D>;
  readonly report: QueueReport<D>;
  started: boolean;
  settled: boolean;
  canceling: boolean;
  requeues: number;
  grace?: NodeJS.Timeout;
  done(): void;
}

/**
 * The downloader API over a farm of workers: requests become BullMQ jobs on per-host queues,
 * workers move the bytes, and reports are rebuilt here from job state. Events, states and
 * cancel behave as for a local downloader; the capabilities that need secrets or local handles
 * (basic auth, TLS material, proxies, speed limits, stream destinations) belong to the workers'
 * own configuration and are not supported here.
 */
export class QueueDownloader extends Downloader {
  readonly schemes: readonly string[];
  readonly supports: Supports = { ...supportsAll(false), headers: true };
  readonly #options: QueueDownloaderOptions;
  readonly #name: ClusterName;
  readonly #keys: ClusterKeys;
  readonly #redis: OwnedRedis;
  readonly #enqueuer: Enqueuer<Entry>;
  readonly #watcher: JobWatcher;
  readonly #slots: ConcurrencyLimit;
  readonly #maxInFlight: number;
  readonly #claimed = new Set<string>();
  readonly #runs = new Set<Promise<void>>();
  readonly #profile: TransferProfile;
  #cancel = unlimited(new AbortController());
  #closed = false;

  constructor(config: DownloaderConfig | DownloaderConfigInput | undefined, listener: DownloadEventListener | undefined, options: QueueDownloaderOptions) {
    super(config, listener);
    if (typeof options !== 'object' || options === null || options.redis === undefined) {
      throw new NectarArgumentError('QueueDownloader needs options.redis (a redis:// URL, ioredis options or client)');
    }
    this.#options = options;
    this.schemes = options.schemes ?? ['http', 'https', 'file', 'sftp'];
    this.#name = { prefix: options.prefix ?? defaultCluster.prefix, cluster: options.cluster ?? defaultCluster.cluster };
    this.#keys = clusterKeys(this.#name);
    this.#redis = openRedis(options.redis);
    this.#enqueuer = new Enqueuer<Entry>(this.#redis.client, this.#name, this.#keys, options, (job) => this.#track(job));
    this.#watcher = new JobWatcher(this.#redis.client, this.#name.prefix, (name) => this.#enqueuer.queue(name), options);
    this.#maxInFlight = this.config.maxConcurrent ?? options.maxInFlight ?? 10_000;
    this.#slots = new ConcurrencyLimit(this.#maxInFlight);
    this.#profile = profileOf(this.settings);
  }

  protected override transfer(job: TransferJob): Promise<void> {
    return Promise.reject(new NectarError('NECTAR_BACKEND', `QueueDownloader hands ${job.url.href} to a worker; it has no local transfer`));
  }

  override async download<D = unknown>(requests: RequestSource<D>, options: DownloadOptions = {}): Promise<QueueReport<D>[]> {
    const signal = this.#signal(options);
    const iterator = iterate(requests);
    const reports: QueueReport<D>[] = [];
    await this.#tracked(this.#run(iterator, signal, (r) => reports.push(r)));
    return reports;
  }

  /** Yields each report as it settles, holding only what is in flight. Breaking out cancels the rest. */
  override async *stream<D = unknown>(requests: RequestSource<D>, options: DownloadOptions = {}): AsyncGenerator<QueueReport<D>, void, undefined> {
    const stop = new AbortController();
    const signal = unlimitedSignal(AbortSignal.any([this.#signal(options), stop.signal]));
    const iterator = iterate(requests);
    yield* settledStream<QueueReport<D>>((hooks) => this.#tracked(this.#run(iterator, signal, () => {}, hooks.onSettle, hooks.gate)), {
      bound: this.#maxInFlight,
      signal,
      stop,
    });
  }

  override cancel(): void {
    const previous = this.#cancel;
    this.#cancel = unlimited(new AbortController());
    previous.abort(new NectarError('NECTAR_CANCELED', 'canceled by cancel()'));
  }

  override async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.cancel();
    await Promise.allSettled(this.#runs);
    await this.#watcher.close();
    await this.#enqueuer.close();
    await this.#redis.close();
  }

  #signal(options: DownloadOptions): AbortSignal {
    if (this.#closed) throw new NectarError('NECTAR_CLOSED', 'QueueDownloader is closed');
    if (typeof options !== 'object' || options === null) throw new NectarArgumentError('options must be an object');
    if (options.signal === undefined) return this.#cancel.signal;
    if (!(options.signal instanceof AbortSignal)) throw new NectarArgumentError('options.signal must be an AbortSignal');
    return unlimitedSignal(AbortSignal.any([this.#cancel.signal, options.signal]));
  }

  async #tracked(run: Promise<void>): Promise<void> {
    this.#runs.add(run);
    try {
      await run;
    } finally {
      this.#runs.delete(run);
    }
  }

  /** Reads lazily: a slot is taken before each request is pulled, as in core. */
  async #run<D>(
    iterator: AsyncIterator<RequestLike<D>> | Iterator<RequestLike<D>>,
    signal: AbortSignal,
    onAdmit: (r: QueueReport<D>) => void,
    onSettle?: (r: QueueReport<D>) => void,
    gate?: () => Promise<void>,
  ): Promise<void> {
    const runId = randomUUID();
    const running = new Set<Promise<void>>();
    const onAbort = () => void this.#redis.client.set(this.#keys.canceledRun(runId), '1', 'EX', 86_400).catch(() => {});
    signal.addEventListener('abort', onAbort, { once: true });
    let exhausted = false;
    let pending: Promise<IteratorResult<RequestLike<D>>> | null = null;
    try {
      while (!signal.aborted) {
        await gate?.();
        // About to wait for a slot: the requests gathered so far should not wait for company.
        if (this.#slots.active >= this.#maxInFlight) this.#enqueuer.flushAll();
        if (!(await this.#slots.acquire(signal))) break;
        let next: IteratorResult<RequestLike<D>> | null;
        try {
          pending = Promise.resolve(iterator.next());
          // A source that never yields again must not hold a cancel or close() forever.
          next = await untilAborted(pending, signal);
          if (next !== null) pending = null;
        } catch (error) {
          this.#slots.release();
          throw error;
        }
        if (next === null || next.done === true) {
          exhausted = next !== null;
          this.#slots.release();
          break;
        }
        const { request, report } = admit(next.value);
        onAdmit(report);
        const task = this.#settle(request, report, runId, signal).finally(() => {
          this.#slots.release();
          running.delete(task);
          onSettle?.(report);
        });
        running.add(task);
      }
    } finally {
      this.#enqueuer.flushAll();
      await Promise.all(running);
      signal.removeEventListener('abort', onAbort);
      if (!exhausted) await closeSource(iterator, pending);
    }
  }

  async #settle<D>(request: DownloadRequest<D> | Error, report: QueueReport<D>, run: string, runSignal: AbortSignal): Promise<void> {
    const signal = request instanceof DownloadRequest && request.signal ? AbortSignal.any([runSignal, request.signal]) : runSignal;
    if (signal.aborted) return finish(this.listener, report, 'canceled');
    let claim: string | undefined;
    try {
      if (request instanceof Error) throw request;
      const wire = this.#wire(request);
      claim = this.#claim(request);
      await new Promise<void>((resolve) => {
        const entry: Entry<D> = { request, report, wire, run, profile: this.#profile, started: false, settled: false, canceling: false, requeues: 0, done: resolve };
        const onAbort = () => this.#cancelEntry(entry as Entry);
        signal.addEventListener('abort', onAbort, { once: true });
        const resolveOnce = entry.done;
        entry.done = () => {
          signal.removeEventListener('abort', onAbort);
          resolveOnce();
        };
        this.#enqueuer.add(entry as Entry);
      });
    } catch (error) {
      failLocally(this.listener, report, toNectarError(error));
    } finally {
      if (claim !== undefined) this.#claimed.delete(claim);
    }
  }

  /** The request as job data: checked for capabilities and secrets, config headers merged in. */
  #wire(request: DownloadRequest): JobRequest {
    for (const { capability, field } of usedCapabilities(this.settings, request)) {
      if (!this.supports[capability]) {
        throw new NectarError('NECTAR_NOT_SUPPORTED', `${field} is not supported by QueueDownloader (capability '${capability}'): configure it on the workers`, {
          details: { field, capability },
        });
      }
    }
    const headers = { ...this.settings.headers, ...request.headers };
    assertNoSecrets(request.url, headers);
    for (const mirror of request.mirrors) assertNoSecrets(mirror, {});
    const wire: JobRequest = { url: request.url, destination: request.destination as string };
    if (request.mirrors.length > 0) wire.mirrors = [...request.mirrors];
    if (Object.keys(headers).length > 0) wire.headers = headers;
    if (request.expectedSize !== undefined) wire.expectedSize = request.expectedSize;
    if (request.expectedDigest !== undefined) wire.expectedDigest = { ...request.expectedDigest };
    const credential = this.#options.credential?.(request);
    if (credential !== undefined) wire.credential = credential;
    return wire;
  }

  #claim(request: DownloadRequest): string {
    const destination = request.destination as string;
    if (this.#claimed.has(destination)) {
      throw new NectarError('NECTAR_DUPLICATE_DESTINATION', `${destination} is already the destination of a request in flight`, { details: { destination } });
    }
    this.#claimed.add(destination);
    return destination;
  }

  /** Called once a job is in Redis: follow it to its end. */
  #track(job: OutgoingJob<Entry>): void {
    for (const entry of job.entries) entry.report.jobId = job.id;
    this.#watcher.watch(job.queueName, job.id, {
      progress: (p) => this.#progress(job, p),
      completed: (r) => this.#completed(job, r),
      failed: (reason) => this.#failed(job, reason),
      gone: () => this.#gone(job),
    });
    if (job.entries.some((e) => e.canceling)) this.#sendCancels(job);
  }

  #progress(job: OutgoingJob<Entry>, progress: JobProgressData): void {
    progress.requests.forEach((p, i) => {
      const entry = job.entries[i];
      if (entry === undefined || entry.settled || p.state === 'waiting') return;
      start(this.listener, entry, p.startTime);
      const { report } = entry;
      if (report.bytesDownloaded === p.bytesDownloaded && report.totalBytes === p.totalBytes) return;
      // A whole body is about to be renamed into place; the final progress at settle says it.
      if (p.totalBytes !== null && p.bytesDownloaded === p.totalBytes && p.totalBytes > 0) return;
      report.bytesDownloaded = p.bytesDownloaded;
      report.totalBytes = p.totalBytes;
      report.attempts = p.attempts;
      emit(this.listener, 'downloadProgress', report);
    });
  }

  #completed(job: OutgoingJob<Entry>, result: JobResult): void {
    this.#watcher.unwatch(job.id);
    job.entries.forEach((entry, i) => {
      const wire = result.reports[i];
      if (wire === undefined) settleFailed(this.listener, entry, new NectarError('NECTAR_BACKEND', `job ${job.id} returned no report for ${redactUrl(entry.wire.url)}`));
      else settleFromWire(this.listener, entry, wire);
    });
    // Only a wholly successful job is kept for dedup: anything else must run again if asked again.
    if (!result.reports.every((r) => r.state === 'succeeded')) void this.#enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  #failed(job: OutgoingJob<Entry>, reason: string): void {
    this.#watcher.unwatch(job.id);
    const error = new NectarError('NECTAR_BACKEND', `job ${job.id} failed in the queue: ${reason}`, { details: { jobId: job.id } });
    for (const entry of job.entries) settleFailed(this.listener, entry, error);
    void this.#enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  /** Redis lost the job (restart without persistence, eviction): add it again, a few times. */
  #gone(job: OutgoingJob<Entry>): void {
    const live = job.entries.filter((e) => !e.settled);
    if (live.every((e) => e.canceling)) {
      this.#watcher.unwatch(job.id);
      for (const entry of live) settleCanceled(this.listener, entry);
      return;
    }
    const first = live[0];
    if (first === undefined) {
      this.#watcher.unwatch(job.id);
      return;
    }
    if (first.requeues >= 3) {
      this.#watcher.unwatch(job.id);
      for (const entry of live) settleFailed(this.listener, entry, new NectarError('NECTAR_BACKEND', `job ${job.id} vanished from Redis ${first.requeues} times`));
      return;
    }
    for (const entry of live) entry.requeues++;
    this.#watcher.unwatch(job.id);
    this.#enqueuer.resend(job);
  }

  #cancelEntry(entry: Entry): void {
    if (entry.settled || entry.canceling) return;
    entry.canceling = true;
    if (entry.job === undefined) {
      if (this.#enqueuer.withdraw(entry)) settleCanceled(this.listener, entry);
      return;
    }
    // The worker cleans up and reports; if it cannot (gone, stopped), settle anyway.
    entry.grace = setTimeout(() => settleCanceled(this.listener, entry), this.#options.cancelGrace ?? 5000);
    this.#sendCancels(entry.job as OutgoingJob<Entry>);
  }

  /** Removes a job nobody has started, else tells its worker which requests to drop. */
  #sendCancels(job: OutgoingJob<Entry>): void {
    queueMicrotask(async () => {
      const canceling = job.entries.filter((e) => e.canceling && !e.settled);
      if (canceling.length === 0) return;
      const whole = job.entries.every((e) => e.canceling || e.settled);
      try {
        if (whole && (await this.#enqueuer.queue(job.queueName).remove(job.id)) === 1) {
          this.#watcher.unwatch(job.id);
          for (const entry of canceling) settleCanceled(this.listener, entry);
          return;
        }
        const key = this.#keys.canceledJob(job.id);
        const members = whole ? ['*'] : canceling.map((e) => String(e.index));
        await this.#redis.client.multi().sadd(key, ...members).expire(key, 86_400).exec();
        await this.#watcher.check(job.id);
      } catch {
        // Redis unreachable: the grace timer settles these requests.
      }
    });
  }
}

/** A factory for the conformance suite and registries: `(config, listener) => QueueDownloader`. */
export function queueDownloaderFactory(options: QueueDownloaderOptions): (config: DownloaderConfig, listener?: DownloadEventListener) => QueueDownloader {
  return (config, listener) => new QueueDownloader(config, listener, options);
}

function profileOf(settings: Readonly<Record<string, unknown>>): TransferProfile {
  const profile: Record<string, unknown> = {};
  for (const field of profileFields) if (settings[field] !== undefined) profile[field] = settings[field];
  return profile as TransferProfile;
}

function start(listener: DownloadEventListener, entry: Entry, startTime: string | null): void {
  if (entry.started) return;
  entry.started = true;
  entry.report.state = 'downloading';
  entry.report.startTime = startTime === null ? new Date() : new Date(startTime);
  emit(listener, 'downloadStarted', entry.report);
}

function settleFromWire(listener: DownloadEventListener, entry: Entry, wire: WireReport): void {
  if (entry.settled) return;
  const { report } = entry;
  if (wire.state === 'canceled' && wire.startTime === null && !entry.started) {
    settleCanceled(listener, entry);
    return;
  }
  start(listener, entry, wire.startTime);
  report.totalBytes = wire.totalBytes;
  report.bytesDownloaded = wire.bytesDownloaded;
  report.attempts = wire.attempts;
  report.finalUrl = wire.finalUrl;
  report.errorReport = wire.state === 'failed' ? { ...wire.errorReport, url: redactUrl(report.url) } : {};
  report.alreadyPresent = wire.alreadyPresent;
  report.storedAt = wire.storedAt;
  // As in core, the final progress already shows the terminal state.
  report.state = wire.state === 'succeeded' || wire.state === 'failed' ? wire.state : 'canceled';
  emit(listener, 'downloadProgress', report);
  conclude(listener, entry, report.state, wire.finishTime);
}

function settleFailed(listener: DownloadEventListener, entry: Entry, error: NectarError): void {
  if (entry.settled) return;
  start(listener, entry, null);
  entry.report.errorReport = { message: error.message, code: error.code, url: redactUrl(entry.report.url), ...error.details };
  entry.report.state = 'failed';
  emit(listener, 'downloadProgress', entry.report);
  conclude(listener, entry, 'failed', null);
}

function settleCanceled(listener: DownloadEventListener, entry: Entry): void {
  if (entry.settled) return;
  if (entry.started) {
    entry.report.state = 'canceled';
    emit(listener, 'downloadProgress', entry.report);
  }
  conclude(listener, entry, 'canceled', null);
}

function conclude(listener: DownloadEventListener, entry: Entry, state: 'succeeded' | 'failed' | 'canceled', finishTime: string | null): void {
  entry.settled = true;
  clearTimeout(entry.grace);
  if (state !== 'succeeded') entry.report.alreadyPresent = false;
  finish(listener, entry.report, state, finishTime);
  entry.done();
}

function finish(listener: DownloadEventListener, report: QueueReport, state: 'succeeded' | 'failed' | 'canceled', finishTime: string | null = null): void {
  report.state = state;
  const finished = finishTime === null ? new Date() : new Date(finishTime);
  report.finishTime = report.startTime !== null && finished < report.startTime ? report.startTime : finished;
  emit(listener, state === 'succeeded' ? 'downloadSucceeded' : state === 'failed' ? 'downloadFailed' : 'downloadCanceled', report);
}

/** A request refused before it reached Redis: started, one progress, failed — as core does. */
function failLocally(listener: DownloadEventListener, report: QueueReport, error: NectarError): void {
  report.state = 'downloading';
  report.startTime = new Date();
  emit(listener, 'downloadStarted', report);
  report.errorReport = { message: error.message, code: error.code, url: redactUrl(report.url), ...error.details };
  report.state = 'failed';
  emit(listener, 'downloadProgress', report);
  finish(listener, report, 'failed');
}

function admit<D>(item: RequestLike<D>): { request: DownloadRequest<D> | Error; report: QueueReport<D> } {
  try {
    const request = DownloadRequest.from(item);
    return { request, report: new QueueReport(request) };
  } catch (error) {
    const loose = (typeof item === 'object' && item !== null ? item : {}) as Partial<DownloadRequestJSON<D>>;
    const report = new QueueReport<D>({
      url: typeof loose.url === 'string' ? loose.url : String(loose.url ?? ''),
      destination: typeof loose.destination === 'string' ? loose.destination : '',
      data: loose.data as D,
    });
    return { request: new NectarError('NECTAR_INVALID_REQUEST', (error as Error).message, { cause: error }), report };
  }
}

function unlimited(controller: AbortController): AbortController {
  setMaxListeners(0, controller.signal);
  return controller;
}

function unlimitedSignal(signal: AbortSignal): AbortSignal {
  setMaxListeners(0, signal);
  return signal;
}
