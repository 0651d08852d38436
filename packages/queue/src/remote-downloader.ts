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
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => this.#cancelEntry(entry);
      const entry: Entry = {
        wire,
        run: this.#runOf(signal),
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
          if (error === undefined) resolve();
          else reject(error);
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#enqueuer.add(entry);
    });
  }

  /** Closes the watcher, the queues and Redis; the engine's close() has settled every request. */
  protected override async release(): Promise<void> {
    await this.#watcher.close();
    await this.#enqueuer.close();
    await this.#redis.close();
  }

  /** The id jobs of this signal's run carry; its abort marks the whole run canceled for workers. */
  #runOf(signal: AbortSignal): string {
    let run = this.#runs.get(signal);
    if (run === undefined) {
      const id = randomUUID();
      run = id;
      this.#runs.set(signal, id);
      signal.addEventListener('abort', () => void this.#redis.client.set(this.#keys.canceledRun(id), '1', 'EX', 86_400).catch(() => {}), { once: true });
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
    job.entries.forEach((entry, i) => {
      const wire = result.reports[i];
      if (wire === undefined) entry.settle(new NectarError('NECTAR_BACKEND', `job ${job.id} returned no report for ${redactUrl(entry.wire.url)}`, { details: { jobId: job.id } }));
      else settleFromWire(entry, wire);
    });
    // Only a wholly successful job is kept for dedup: anything else must run again if asked again.
    if (!result.reports.every((r) => r.state === 'succeeded')) void this.#enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  #failed(job: OutgoingJob<Entry>, reason: string): void {
    this.#watcher.unwatch(job.id);
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
        if (whole && (await this.#enqueuer.queue(job.queueName).remove(job.id)) === 1) {
          this.#watcher.unwatch(job.id);
          for (const entry of canceling) entry.settle(canceled());
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
