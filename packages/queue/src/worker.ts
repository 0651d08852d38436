import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { hostname } from 'node:os';
import { ComposedDownloader, defaultRegistry, type DownloaderConfigInput, type DownloaderRegistry } from '@nectar/core/backend';
import { type Job, UnrecoverableError } from 'bullmq';
import type { Redis } from 'ioredis';
import { CancelWatch } from './cancel-watch.js';
import { type OwnedRedis, openRedis, type RedisConnection } from './connection.js';
import type { CredentialStore } from './credentials.js';
import { gatedRouter } from './gated-backend.js';
import { Heartbeat, isWorkerAlive } from './heartbeat.js';
import { HostGate } from './host-gate.js';
import { HostLimitsCache } from './host-limits.js';
import type { JobData, JobProgressData, JobResult } from './job-data.js';
import { JobFetcher, type Lease } from './job-fetcher.js';
import { type JobContext, runJob, type StorageMode } from './job-runner.js';
import { WorkerMetrics } from './metrics.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster, queueMetaPattern } from './naming.js';
import { persistenceWarning } from './persistence.js';
import { type DownloaderMaker, ProfilePool } from './profile-pool.js';
import { ProgressForwarder } from './progress-forwarder.js';
import { StageRegistry } from './stage-registry.js';
import { safeWorkerId } from './staging.js';
import { StoredFiles } from './stored-files.js';
import { sweepStages } from './sweep.js';

export interface WorkerOptions {
  redis: RedisConnection;
  /** The farm's name (default 'nectar'); producers and workers of one farm use the same. */
  cluster?: string;
  /** BullMQ key prefix (default 'bull'). */
  prefix?: string;
  /** Shown in reports and job state (default `<hostname>-<pid>-<random>`). */
  id?: string;
  /** Jobs this worker runs at once, over every host (default 8); a job is taken only for a free slot. */
  concurrency?: number;
  /** The worker's own config: maxSpeed, TLS, proxy… (never sent through Redis). */
  config?: DownloaderConfigInput;
  /** Backends by URL scheme (default: core's registry, which loads installed @nectar/* backends). */
  registry?: DownloaderRegistry;
  /** 'shared' (default): destinations are on a filesystem every machine sees. */
  storage?: StorageMode;
  /** Credentials that jobs name; resolved here, never stored in Redis. */
  credentials?: CredentialStore;
  /** Folders swept at start-up for stage files of dead workers (default: none). */
  sweepRoots?: string[];
  /** Lock on an active job in ms (default 20 s, renewed every half): a worker that dies loses its jobs this soon. */
  lockDuration?: number;
  /** How often expired locks are looked for, in ms (default 5 s). */
  stalledInterval?: number;
  /** Redeliveries of a job whose worker died before it fails (default 10; BullMQ's is 1). */
  maxStalledCount?: number;
  /** Minimum ms between two progress updates of one job (default 500). */
  progressInterval?: number;
  /** How often new host queues and changed limits are looked for, in ms (default 1000). */
  discoveryInterval?: number;
  /** Heartbeat period in ms (default 5000; a worker is dead 3 periods after its last). */
  heartbeatInterval?: number;
  /** How often cancels of running jobs are looked for, in ms (default 250). */
  cancelPollInterval?: number;
  /** fsync each file and its folder before it appears (default true: a crash never shows a torn file). */
  fsync?: boolean;
  /** Files younger than this (ms) are never swept (default 60 s). */
  sweepMinAge?: number;
  /** Requests whose stored file is remembered for dedup, farm-wide (default 100,000; 0 turns it off). */
  storedCount?: number;
  /** Serves Prometheus metrics on 127.0.0.1 at this port (default: off; 0 picks a free port). */
  metricsPort?: number;
  /** Where warnings go (default: stderr), e.g. a Redis that keeps nothing across a restart. */
  warn?: (message: string) => void;
}

/** A running worker. */
export interface QueueWorker {
  readonly id: string;
  /** Stage files the start-up sweep removed. */
  readonly swept: readonly string[];
  /** Host queues this worker takes jobs from. */
  readonly queues: readonly string[];
  /** The metrics server's port, when `metricsPort` was given. */
  readonly metricsPort: number | null;
  /** Stops taking jobs, lets running ones finish, releases every handle. */
  close(): Promise<void>;
}

export const workerDefaults = {
  concurrency: 8,
  lockDuration: 20_000,
  stalledInterval: 5_000,
  maxStalledCount: 10,
  progressInterval: 500,
  discoveryInterval: 1000,
  heartbeatInterval: 5000,
  storedCount: 100_000,
} as const;

/** A full key-space scan for queues (beside the registry a Redis restart may empty) runs this much less often. */
const scanEvery = 10;

/** Starts a worker: sweeps, then serves every host queue of the farm until closed. */
export async function runWorker(options: WorkerOptions): Promise<QueueWorker> {
  const worker = new DownloadWorker(options);
  await worker.start();
  return worker;
}

class DownloadWorker implements QueueWorker {
  readonly id: string;
  swept: string[] = [];
  readonly #options: WorkerOptions;
  readonly #name: ClusterName;
  readonly #keys: ClusterKeys;
  readonly #fileId: string;
  readonly #redis: OwnedRedis;
  readonly #subscriber: Redis;
  readonly #pool: ProfilePool;
  readonly #fetcher: JobFetcher;
  readonly #heartbeat: Heartbeat;
  readonly #cancels: CancelWatch;
  readonly #stages: StageRegistry;
  readonly #stored: StoredFiles;
  readonly #limits: HostLimitsCache;
  readonly #metrics: WorkerMetrics;
  #metricsServer: Server | undefined;
  #discovery: NodeJS.Timeout | undefined;
  #ticks = 0;
  #closed = false;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#fileId = safeWorkerId(this.id);
    this.#name = { prefix: options.prefix ?? defaultCluster.prefix, cluster: options.cluster ?? defaultCluster.cluster };
    this.#keys = clusterKeys(this.#name);
    this.#redis = openRedis(options.redis, `nectar-worker:${this.#fileId}`);
    const client = this.#redis.client;
    this.#subscriber = client.duplicate();
    this.#subscriber.on('error', () => {});
    const concurrency = options.concurrency ?? workerDefaults.concurrency;
    this.#metrics = new WorkerMetrics(this.id);
    this.#limits = new HostLimitsCache(client, this.#keys);
    const gate = new HostGate(client, this.#keys, (host) => this.#limits.get(host));
    const make = gatedMaker(options.registry ?? defaultRegistry, gate, this.#metrics);
    const listener = { downloadStarted: forward, downloadProgress: forward };
    this.#pool = new ProfilePool(make, { maxConcurrent: concurrency, ...options.config }, listener, 250, options.fsync ?? true);
    this.#heartbeat = new Heartbeat(client, this.#keys, this.#fileId, options.heartbeatInterval ?? workerDefaults.heartbeatInterval);
    this.#cancels = new CancelWatch(client, this.#keys, options.cancelPollInterval ?? 250);
    this.#stages = new StageRegistry(client, this.#keys);
    this.#stored = new StoredFiles(client, this.#keys, options.storedCount ?? workerDefaults.storedCount);
    this.#fetcher = new JobFetcher(
      client,
      {
        prefix: this.#name.prefix,
        workerName: this.id,
        slots: concurrency,
        lockDuration: options.lockDuration ?? workerDefaults.lockDuration,
        stalledInterval: options.stalledInterval ?? workerDefaults.stalledInterval,
        maxStalledCount: options.maxStalledCount ?? workerDefaults.maxStalledCount,
      },
      (job, lease) => this.#process(job, lease),
    );
  }

  get queues(): string[] {
    return this.#fetcher.queues;
  }

  get metricsPort(): number | null {
    const address = this.#metricsServer?.address();
    return typeof address === 'object' && address !== null ? address.port : null;
  }

  async start(): Promise<void> {
    const warn = this.#options.warn ?? ((m: string) => process.stderr.write(`nectar-worker: warning: ${m}\n`));
    const warning = await persistenceWarning(this.#redis.client);
    if (warning !== null) warn(warning);
    await this.#heartbeat.beat();
    this.swept = await this.#sweep();
    if (this.#options.metricsPort !== undefined) this.#metricsServer = await this.#metrics.serve(this.#options.metricsPort);
    await this.#subscriber.subscribe(this.#keys.added);
    this.#subscriber.on('message', (_channel: string, queueName: string) => void this.#admit(queueName));
    await this.#discover(true);
    this.#fetcher.start();
    const every = this.#options.discoveryInterval ?? workerDefaults.discoveryInterval;
    this.#discovery = setInterval(() => void this.#discover(++this.#ticks % scanEvery === 0).catch(() => {}), every);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#discovery);
    await this.#fetcher.close();
    this.#cancels.close();
    await this.#pool.close();
    await this.#heartbeat.stop();
    await new Promise<void>((resolve) => (this.#metricsServer === undefined ? resolve() : this.#metricsServer.close(() => resolve())));
    this.#subscriber.disconnect();
    await this.#redis.close();
  }

  async #sweep(): Promise<string[]> {
    const roots = this.#options.sweepRoots ?? [];
    if (roots.length === 0) return [];
    return sweepStages({
      roots,
      minAgeMs: this.#options.sweepMinAge ?? 60_000,
      isAlive: (owner) => (owner === this.#fileId ? Promise.resolve(false) : isWorkerAlive(this.#redis.client, this.#keys, owner)),
    });
  }

  /**
   * A producer's word that a host queue has jobs. The farm-wide pause is read first: a queue new
   * to this worker must not be fetched from on a pause flag up to a discovery tick old.
   */
  async #admit(queueName: string): Promise<void> {
    await this.#readPause().catch(() => {});
    this.#fetcher.add(queueName);
    this.#fetcher.wake(queueName);
  }

  async #readPause(): Promise<void> {
    this.#fetcher.paused = (await this.#redis.client.exists(this.#keys.paused)) === 1;
  }

  /** Host queues from the registry producers keep, and (now and then) from BullMQ's own keys. */
  async #discover(scan: boolean): Promise<void> {
    const client = this.#redis.client;
    // The pause first: a queue added below is never fetched from on a stale flag.
    await this.#readPause();
    const names = new Set(await client.smembers(this.#keys.hosts));
    if (scan) for (const name of await scanQueues(client, this.#name)) names.add(name);
    for (const name of names) this.#fetcher.add(name);
    await this.#limits.refresh();
  }

  async #process(job: Job<JobData, JobResult>, lease: Lease): Promise<JobResult> {
    const data = job.data;
    if (!isJobData(data)) throw new UnrecoverableError(`job ${job.id} does not hold nectar requests`);
    const jobId = job.id ?? '';
    await this.#limits.since(job.timestamp).catch(() => {});
    // A job taken over from a dead or frozen worker: its stage files go now, not at the next sweep.
    await this.#stages.clearEarlier(jobId).catch(() => []);
    const canceled = await this.#cancels.watch(jobId, data.run, lease.lost);
    const progress = new ProgressForwarder(this.id, data.requests.length, this.#options.progressInterval ?? workerDefaults.progressInterval, (p: JobProgressData) =>
      job.updateProgress(p as unknown as object),
    );
    const ctx: JobContext = {
      jobId,
      workerId: this.id,
      fileId: this.#fileId,
      storage: this.#options.storage ?? { mode: 'shared' },
      fsync: this.#options.fsync ?? true,
      credentials: this.#options.credentials ?? {},
      pool: this.#pool,
      progress,
      lease,
      stages: this.#stages,
      stored: this.#stored,
      canceled,
    };
    try {
      const reports = await runJob(data, ctx);
      for (const r of reports) this.#metrics.finished(r.state, r.alreadyPresent ? 0 : r.bytesDownloaded, typeof r.errorReport.code === 'string' ? r.errorReport.code : undefined);
      return { worker: this.id, run: data.run, reports };
    } finally {
      await progress.stop();
      this.#cancels.unwatch(jobId);
    }
  }
}

/** The registry's downloader with every attempt passing the host gate first. */
function gatedMaker(registry: DownloaderRegistry, gate: HostGate, metrics: WorkerMetrics): DownloaderMaker {
  return (config, listener) => new ComposedDownloader(gatedRouter(registry.create(config, listener).backend, gate, metrics), config, listener);
}

/** Queue names of the farm, from the `meta` hash BullMQ writes for every queue that held a job. */
async function scanQueues(client: Redis, name: ClusterName): Promise<string[]> {
  const found: string[] = [];
  const pattern = queueMetaPattern(name);
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) found.push(key.slice(name.prefix.length + 1, -':meta'.length));
  } while (cursor !== '0');
  return found;
}

function forward(report: { data: unknown }): void {
  const tag = report.data as { onProgress?: (r: unknown) => void } | undefined;
  tag?.onProgress?.(report);
}

function isJobData(value: unknown): value is JobData {
  const data = value as Partial<JobData> | null;
  return typeof data === 'object' && data !== null && data.v === 1 && typeof data.run === 'string' && Array.isArray(data.requests);
}
