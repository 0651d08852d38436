import { randomUUID } from 'node:crypto';
import {
  Downloader,
  DownloaderConfig,
  type DownloaderConfigInput,
  type DownloadEventListener,
  type DownloadOptions,
  type DownloadRequest,
  emit,
  NectarArgumentError,
  NectarError,
  type RequestRun,
  type RequestSource,
  redactUrl,
  type Supports,
  supportsAll,
  type TransferJob,
  usedCapabilities,
} from '@nectar/core/backend';
import { type OwnedRedis, openRedis, type RedisConnection } from './connection.js';
import { assertNoSecrets, type SecretRules, secretRules } from './credentials.js';
import { type JobProgressData, type JobRequest, type JobResult, profileFields, type TransferProfile, type WireReport } from './job-data.js';
import { JobWatcher, type WatcherOptions } from './job-watcher.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster } from './naming.js';
import { Enqueuer, type Outgoing, type OutgoingJob, type ProducerOptions } from './producer.js';
import { QueueReport } from './queue-report.js';
import { RedisOutage } from './redis-outage.js';
import { RunLedger } from './run-status.js';
import { StageRegistry } from './stage-registry.js';

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
  /** Header names, beside core's (Authorization, Cookie, *-Api-Key, *-Token…), whose values are refused: name a credential. */
  secretHeaders?: readonly string[];
  /** Query parameters, beside core's `secretQueryParams`, whose values are refused: name a credential. */
  secretParams?: readonly string[];
  /** A request's BullMQ priority: 1 is the highest, larger numbers lower; 0 or undefined: none. */
  priority?: (request: DownloadRequest) => number | undefined;
  /** How long close() waits for Redis (a last cancel marker, status writes) before it lets go (default 3000 ms). */
  closeTimeout?: number;
  /** Unsettled requests fail with NECTAR_BACKEND once Redis has been unreachable this long (default 60,000 ms). */
  redisDownTimeout?: number;
}

/** A request of this producer, from enqueue to its outcome. */
interface Entry extends Outgoing {
  readonly report: QueueReport;
  /** The engine's `run.started()`: fires downloadStarted once. */
  readonly started: (at?: Date) => void;
  settled: boolean;
  canceling: boolean;
  requeues: number;
  grace?: NodeJS.Timeout;
  /** Ends runRequest(): without an error it succeeded; the engine fires the terminal event. */
  settle(error?: NectarError): void;
}

/**
 * The downloader API over a farm of workers: requests become BullMQ jobs on per-host queues,
 * workers move the bytes, and reports are rebuilt here from job state. It is core's engine with
 * one hook overridden, `runRequest()`: enqueue, watch, report. Scheduling, admission, lazy
 * reading, cancel and the event frame are the engine's; `maxConcurrent` bounds the requests in
 * flight (enqueued, not settled). downloadStarted fires when a worker takes the request. The
 * capabilities that need secrets or local handles (basic auth, TLS material, proxies, speed
 * limits, stream destinations) belong to the workers' own configuration and are not supported here.
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface below only narrows the engine's download()/stream() to QueueReport.
export class QueueDownloader extends Downloader {
  readonly schemes: readonly string[];
  readonly supports: Supports = { ...supportsAll(false), headers: true };
  readonly #options: QueueDownloaderOptions;
  readonly #name: ClusterName;
  readonly #keys: ClusterKeys;
  readonly #redis: OwnedRedis;
  readonly #enqueuer: Enqueuer<Entry>;
  readonly #watcher: JobWatcher;
  readonly #profile: TransferProfile;
  /** A run (the signal of one download()/stream() call, or of one request) has one id in Redis. */
  readonly #runs = new WeakMap<AbortSignal, string>();
  /** Every run of this producer, for status and close. */
  readonly #runIds = new Set<string>();
  readonly #ledger: RunLedger;
  readonly #stages: StageRegistry;
  readonly #secrets: SecretRules;
  /** Cancel markers on their way to Redis: close() waits for them (boundedly). */
  readonly #markers = new Set<Promise<unknown>>();
  /** Requests enqueued and not settled: what a Redis outage past its bound fails. */
  readonly #live = new Set<Entry>();
  readonly #outage: RedisOutage;

  constructor(config: DownloaderConfig | DownloaderConfigInput | undefined, listener: DownloadEventListener | undefined, options: QueueDownloaderOptions) {
    super(withInFlight(config, options), listener);
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
    this.#profile = profileOf(this.settings);
    this.#ledger = new RunLedger(this.#redis.client, this.#keys);
    this.#stages = new StageRegistry(this.#redis.client, this.#keys);
    this.#secrets = secretRules(options.secretHeaders, options.secretParams);
    this.#outage = new RedisOutage(this.#redis.client, options.redisDownTimeout ?? 60_000, (ms) => this.#failAll(ms));
  }

  /** Redis stayed away too long: a run fails clearly rather than wait for ever. */
  #failAll(ms: number): void {
    const error = new NectarError('NECTAR_BACKEND', `Redis has been unreachable for ${Math.round(ms / 1000)} s; the request's outcome is unknown`, {
      retryable: true,
      details: { redisDownMs: ms },
    });
    for (const entry of [...this.#live]) entry.settle(error);
  }

  /** The ids of this producer's runs (one per download()/stream() call), for `nectar queue status RUN`. */
  get runs(): readonly string[] {
    return [...this.#runIds];
  }

  protected override transfer(job: TransferJob): Promise<void> {
    return Promise.reject(new NectarError('NECTAR_BACKEND', `QueueDownloader hands ${job.url.href} to a worker; it has no local transfer`));
  }

  protected override createReport<D>(init: Pick<DownloadRequest<D>, 'url' | 'destination' | 'data'>): QueueReport<D> {
    return new QueueReport(init);
  }

  /** Started when a worker takes the request, not when it is enqueued. */
  protected override get startsOnAdmission(): boolean {
    return false;
  }

  /** One request: checked, enqueued, watched; resolves when a worker stored it, throws why not. */
  protected override async runRequest<D>({ request, report, signal, started }: RequestRun<D>): Promise<void> {
    const wire = this.#wire(request);
    const run = this.#runOf(signal);
    (report as QueueReport).run = run;
    this.#ledger.count(run, 'enqueued');
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => this.#cancelEntry(entry);
      const entry: Entry = {
        wire,
        run,
        priority: Math.max(0, Math.trunc(this.#options.priority?.(request) ?? 0)),
        profile: this.#profile,
        report: report as QueueReport,
        started,
        settled: false,
        canceling: false,
        requeues: 0,
        settle: (error) => {
          if (entry.settled) return;
          entry.settled = true;
          clearTimeout(entry.grace);
          signal.removeEventListener('abort', onAbort);
          this.#live.delete(entry);
          this.#countSettled(entry, error);
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#live.add(entry);
      this.#enqueuer.add(entry);
    });
  }

  /**
   * Closes the watcher, the queues and Redis; the engine's close() has settled every request.
   * Each step that needs Redis is bounded: a producer whose Redis is gone still exits.
   */
  protected override async release(): Promise<void> {
    const timeout = this.#options.closeTimeout ?? 3000;
    this.#outage.stop();
    for (const run of this.#runIds) this.#ledger.closed(run);
    await bounded(Promise.allSettled([...this.#markers]), timeout);
    await this.#ledger.flush(timeout);
    await bounded(this.#watcher.close(), timeout);
    await bounded(this.#enqueuer.close(), timeout);
    await bounded(this.#redis.close(), timeout);
    this.#redis.client.disconnect();
  }

  #countSettled(entry: Entry, error: NectarError | undefined): void {
    if (error === undefined) this.#ledger.count(entry.run, 'succeeded');
    else if (error.code === 'NECTAR_CANCELED') this.#ledger.count(entry.run, 'canceled');
    else this.#ledger.count(entry.run, 'failed', { url: redactUrl(entry.wire.url), destination: entry.wire.destination, code: error.code, message: error.message });
  }

  #mark(write: Promise<unknown>): void {
    const pending = write.catch(() => {});
    this.#markers.add(pending);
    void pending.finally(() => this.#markers.delete(pending));
  }

  /** The id jobs of this signal's run carry; its abort marks the whole run canceled for workers. */
  #runOf(signal: AbortSignal): string {
    let run = this.#runs.get(signal);
    if (run === undefined) {
      const id = randomUUID();
      run = id;
      this.#runs.set(signal, id);
      this.#runIds.add(id);
      this.#ledger.started(id);
      signal.addEventListener('abort', () => this.#mark(this.#redis.client.set(this.#keys.canceledRun(id), '1', 'EX', 86_400)), { once: true });
    }
    return run;
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
    assertNoSecrets(request.url, headers, this.#secrets);
    for (const mirror of request.mirrors) assertNoSecrets(mirror, {}, this.#secrets);
    const wire: JobRequest = { url: request.url, destination: request.destination as string };
    if (request.mirrors.length > 0) wire.mirrors = [...request.mirrors];
    if (Object.keys(headers).length > 0) wire.headers = headers;
    if (request.expectedSize !== undefined) wire.expectedSize = request.expectedSize;
    if (request.expectedDigest !== undefined) wire.expectedDigest = { ...request.expectedDigest };
    const credential = this.#options.credential?.(request);
    if (credential !== undefined) wire.credential = credential;
    return wire;
  }

  /** Called once a job is in Redis: follow it to its end. */
  #track(job: OutgoingJob<Entry>): void {
    for (const entry of job.entries) entry.report.jobId = job.id;
    this.#watcher.watch(job.queueName, job.id, {
      progress: (p) => this.#progress(job, p),
      completed: (r) => this.#completed(job, r),
      failed: (reason, run) => this.#failed(job, reason, run),
      gone: () => this.#gone(job),
    });
    if (job.entries.some((e) => e.canceling)) this.#sendCancels(job);
  }

  #progress(job: OutgoingJob<Entry>, progress: JobProgressData): void {
    progress.requests.forEach((p, i) => {
      const entry = job.entries[i];
      if (entry === undefined || entry.settled || p.state === 'waiting') return;
      entry.started(workerTime(p.startTime));
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
    const live = job.entries.filter((e) => !e.settled);
    // Another run's job (same requests, enqueued earlier): its outcome is not ours to report. A
    // job of our own runs them again, and the worker answers from the file if it is intact.
    if (result.run !== job.data.run && live.length > 0) {
      this.#enqueuer.recheck(job, live);
      return;
    }
    job.entries.forEach((entry, i) => {
      const wire = result.reports[i];
      if (wire === undefined) entry.settle(new NectarError('NECTAR_BACKEND', `job ${job.id} returned no report for ${redactUrl(entry.wire.url)}`, { details: { jobId: job.id } }));
      else settleFromWire(entry, wire);
    });
    // Only a wholly successful job is kept for dedup: anything else must run again if asked again.
    if (!result.reports.every((r) => r.state === 'succeeded')) void this.#enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  #failed(job: OutgoingJob<Entry>, reason: string, run: string | undefined): void {
    this.#watcher.unwatch(job.id);
    const live = job.entries.filter((e) => !e.settled);
    // Another run's job failed in the queue: never adopted, ours runs them again.
    if (run !== job.data.run && live.length > 0) {
      this.#enqueuer.recheck(job, live);
      return;
    }
    const error = new NectarError('NECTAR_BACKEND', `job ${job.id} failed in the queue: ${reason}`, { details: { jobId: job.id } });
    for (const entry of job.entries) entry.settle(error);
    void this.#enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  /** Redis lost the job (restart without persistence, eviction): add it again, a few times. */
  #gone(job: OutgoingJob<Entry>): void {
    this.#watcher.unwatch(job.id);
    const live = job.entries.filter((e) => !e.settled);
    const first = live[0];
    if (first === undefined) return;
    if (live.every((e) => e.canceling)) {
      for (const entry of live) entry.settle(canceled());
      return;
    }
    if (first.requeues >= 3) {
      const error = new NectarError('NECTAR_BACKEND', `job ${job.id} vanished from Redis ${first.requeues} times`, { details: { jobId: job.id } });
      for (const entry of live) entry.settle(error);
      return;
    }
    for (const entry of live) entry.requeues++;
    this.#enqueuer.resend(job);
  }

  #cancelEntry(entry: Entry): void {
    if (entry.settled || entry.canceling) return;
    entry.canceling = true;
    if (entry.job === undefined) {
      if (this.#enqueuer.withdraw(entry)) entry.settle(canceled());
      return;
    }
    const job = entry.job as OutgoingJob<Entry>;
    // Still in the outbox (its host queue is full): nothing in Redis to stop.
    if (!job.added && job.entries.every((e) => e.canceling || e.settled) && this.#enqueuer.withdrawJob(job)) {
      for (const e of job.entries) e.settle(canceled());
      return;
    }
    // The worker cleans up and reports; if it cannot (gone, stopped), settle anyway.
    entry.grace = setTimeout(() => entry.settle(canceled()), this.#options.cancelGrace ?? 5000);
    this.#sendCancels(entry.job as OutgoingJob<Entry>);
  }

  /** Removes a job nobody has started, else tells its worker which requests to drop. */
  #sendCancels(job: OutgoingJob<Entry>): void {
    queueMicrotask(async () => {
      const canceling = job.entries.filter((e) => e.canceling && !e.settled);
      if (canceling.length === 0) return;
      const whole = job.entries.every((e) => e.canceling || e.settled);
      try {
        const queue = this.#enqueuer.queue(job.queueName);
        const stored = await queue.getJob(job.id);
        // Adopted from another run: that run still wants it; we only stop waiting for it.
        if (stored !== undefined && (stored.data as { run?: unknown }).run !== job.data.run) {
          this.#watcher.unwatch(job.id);
          for (const entry of canceling) entry.settle(canceled());
          return;
        }
        if (whole && (await queue.remove(job.id)) === 1) {
          this.#watcher.unwatch(job.id);
          for (const entry of canceling) entry.settle(canceled());
          // A worker that died on this job may have left stage files: they go with the job.
          await this.#stages.clearEarlier(job.id);
          return;
        }
        const key = this.#keys.canceledJob(job.id, job.data.run);
        const members = whole ? ['*'] : canceling.map((e) => String(e.index));
        const write = this.#redis.client.multi().sadd(key, ...members).expire(key, 86_400).exec();
        this.#mark(write);
        await write;
        await this.#watcher.check(job.id);
      } catch {
        // Redis unreachable: the grace timer settles these requests.
      }
    });
  }
}

/** Reports of this producer are QueueReports: the engine's download()/stream() typed so. */
export interface QueueDownloader {
  download<D = unknown>(requests: RequestSource<D>, options?: DownloadOptions): Promise<QueueReport<D>[]>;
  stream<D = unknown>(requests: RequestSource<D>, options?: DownloadOptions): AsyncGenerator<QueueReport<D>, void, undefined>;
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

/** The engine's concurrency bound is the requests in flight: maxInFlight unless config says. */
function withInFlight(config: DownloaderConfig | DownloaderConfigInput | undefined, options: QueueDownloaderOptions | undefined): DownloaderConfig {
  const resolved = config instanceof DownloaderConfig ? config : new DownloaderConfig(config);
  if (resolved.maxConcurrent !== undefined) return resolved;
  return new DownloaderConfig({ ...resolved, maxConcurrent: options?.maxInFlight ?? 10_000 });
}

/** A worker's clock may run ahead of ours: a start is never later than now. */
function workerTime(time: string | null): Date {
  const now = Date.now();
  return new Date(time === null ? now : Math.min(Date.parse(time), now));
}

/** Waits for a promise at most `ms`; what is left runs on, unwatched. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

function canceled(): NectarError {
  return new NectarError('NECTAR_CANCELED', 'canceled');
}

/** The worker's final report onto ours: resolves a success, throws a failure as core's error. */
function settleFromWire(entry: Entry, wire: WireReport): void {
  if (entry.settled) return;
  const { report } = entry;
  if (wire.startTime !== null) entry.started(workerTime(wire.startTime));
  if (wire.state === 'canceled') {
    entry.settle(canceled());
    return;
  }
  report.totalBytes = wire.totalBytes;
  report.bytesDownloaded = wire.bytesDownloaded;
  report.attempts = wire.attempts;
  report.finalUrl = wire.finalUrl;
  // A worker of an older release sends no outcome.
  report.outcome = wire.state === 'succeeded' ? (wire.outcome ?? null) : null;
  report.storedAt = wire.storedAt;
  if (wire.state === 'succeeded') {
    report.alreadyPresent = wire.alreadyPresent;
    entry.settle();
  } else {
    entry.settle(errorOf(wire.errorReport));
  }
}

/** A worker's errorReport as the error it was: the engine rebuilds core's errorReport from it. */
function errorOf(errorReport: Record<string, unknown>): NectarError {
  const { message, code, url: _url, attempts: _attempts, cause, ...details } = errorReport;
  return new NectarError(
    (typeof code === 'string' ? code : 'NECTAR_BACKEND') as NectarError['code'],
    typeof message === 'string' ? message : 'the worker reported a failure',
    { details, ...(typeof cause === 'string' ? { cause: new Error(cause) } : {}) },
  );
}
