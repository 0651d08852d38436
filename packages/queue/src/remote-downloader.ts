import { randomUUID } from 'node:crypto';
import {
  Downloader,
  DownloaderConfig,
  type DownloaderConfigInput,
  type DownloadEventListener,
  type DownloadOptions,
  type DownloadRequest,
  emit,
  type LimitChanges,
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
import { DrainMarks } from './drain-marks.js';
import { type JobRequest, profileFields, type TransferProfile } from './job-data.js';
import { JobTracker } from './job-tracker.js';
import { JobWatcher, type WatcherOptions } from './job-watcher.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster } from './naming.js';
import { Enqueuer, type ProducerOptions, producerHostLimits } from './producer.js';
import { QueueReport } from './queue-report.js';
import { RedisOutage } from './redis-outage.js';
import { type Entry, isDrainedError } from './request-entry.js';
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
  readonly #tracker: JobTracker;
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
    // Checked before Redis is opened: a wrong limit fails here, naming it, and leaves nothing open.
    const limits = producerHostLimits(options, this.settings);
    this.#redis = openRedis(options.redis);
    const drains = new DrainMarks(this.#redis.client, this.#keys);
    this.#enqueuer = new Enqueuer<Entry>(this.#redis.client, this.#name, this.#keys, options, limits, drains, {
      added: (job) => this.#tracker.track(job),
      drained: (job, at) => this.#tracker.drained(job, at),
    });
    this.#watcher = new JobWatcher(this.#redis.client, this.#name.prefix, (name) => this.#enqueuer.queue(name), options);
    this.#profile = profileOf(this.settings);
    this.#ledger = new RunLedger(this.#redis.client, this.#keys);
    this.#tracker = new JobTracker({
      redis: this.#redis.client,
      keys: this.#keys,
      enqueuer: this.#enqueuer,
      watcher: this.#watcher,
      stages: new StageRegistry(this.#redis.client, this.#keys),
      drains,
      cancelGrace: options.cancelGrace ?? 5000,
      mark: (write) => this.#mark(write),
      progressed: (report) => emit(this.listener, 'downloadProgress', report),
    });
    // The config's redactParams are secrets to this downloader's reports: they are to Redis too.
    this.#secrets = secretRules(options.secretHeaders, [...(options.secretParams ?? []), ...(this.settings.redactParams ?? [])]);
    this.#outage = new RedisOutage(this.#redis.client, options.redisDownTimeout ?? 60_000, (ms) => this.#failAll(ms));
  }

  /**
   * The farm's per-host limits live in Redis, shared by every producer and worker: a producer
   * does not change them during a run. `QueueAdmin.setLimits()` / `nectar queue limits set` do.
   */
  override setLimits(_limits: LimitChanges): void {
    throw new NectarError(
      'NECTAR_NOT_SUPPORTED',
      "QueueDownloader.setLimits(): the farm's per-host limits are changed with QueueAdmin.setLimits(host, { maxPerHost, hostRate }) or nectar queue limits set HOST",
      { details: { field: 'setLimits' } },
    );
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
      const onAbort = () => this.#tracker.cancel(entry);
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
    // A drained request is a failure the operator caused: listed, with its reason, among failed items.
    else if (error.code === 'NECTAR_CANCELED' && !isDrainedError(error)) this.#ledger.count(entry.run, 'canceled');
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

/** Waits for a promise at most `ms`; what is left runs on, unwatched. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
