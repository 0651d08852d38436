import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { defaultRegistry, type DownloaderConfigInput, type DownloaderRegistry, ConcurrencyLimit } from '@nectar/core/backend';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import { CancelWatch } from './cancel-watch.js';
import { type OwnedRedis, openRedis, type RedisConnection } from './connection.js';
import type { CredentialStore } from './credentials.js';
import { Heartbeat, isWorkerAlive } from './heartbeat.js';
import { type JobContext, runJob, type StorageMode } from './job-runner.js';
import type { JobData, JobProgressData, JobResult } from './job-data.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster } from './naming.js';
import { ProfilePool } from './profile-pool.js';
import { ProgressForwarder } from './progress-forwarder.js';
import { safeWorkerId } from './staging.js';
import { sweepStages } from './sweep.js';

export interface WorkerOptions {
  redis: RedisConnection;
  /** The farm's name (default 'nectar'); producers and workers of one farm use the same. */
  cluster?: string;
  /** BullMQ key prefix (default 'bull'). */
  prefix?: string;
  /** Shown in reports and job state (default `<hostname>-<pid>-<random>`). */
  id?: string;
  /** Requests this worker runs at once, over every host (default 8). */
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
  /** Lock on an active job (default 120 s, renewed every half): a long download keeps it. */
  lockDuration?: number;
  /** How often expired locks are looked for (default 30 s). */
  stalledInterval?: number;
  /** Redeliveries of a job whose worker died before it fails (default 10; BullMQ's is 1). */
  maxStalledCount?: number;
  /** Minimum ms between two progress updates of one job (default 500). */
  progressInterval?: number;
  /** How often new host queues are looked for (default 1000 ms). */
  discoveryInterval?: number;
  /** Heartbeat period (default 5000 ms; a worker is dead 3 periods after its last). */
  heartbeatInterval?: number;
  /** How often cancels of running jobs are looked for (default 250 ms). */
  cancelPollInterval?: number;
  /** fsync each file and its folder before it appears (default true: a crash never shows a torn file). */
  fsync?: boolean;
  /** Files younger than this are never swept (default 60 s). */
  sweepMinAge?: number;
}

/** A running worker. */
export interface QueueWorker {
  readonly id: string;
  /** Stage files the start-up sweep removed. */
  readonly swept: readonly string[];
  /** Host queues this worker listens to. */
  readonly queues: readonly string[];
  /** Stops taking jobs, lets running ones finish, releases every handle. */
  close(): Promise<void>;
}

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
  readonly #slots: ConcurrencyLimit;
  readonly #pool: ProfilePool;
  readonly #workers = new Map<string, Worker>();
  readonly #heartbeat: Heartbeat;
  readonly #cancels: CancelWatch;
  #discovery: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: WorkerOptions) {
    this.#options = options;
    this.id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    this.#fileId = safeWorkerId(this.id);
    this.#name = { prefix: options.prefix ?? defaultCluster.prefix, cluster: options.cluster ?? defaultCluster.cluster };
    this.#keys = clusterKeys(this.#name);
    this.#redis = openRedis(options.redis);
    const concurrency = options.concurrency ?? 8;
    this.#slots = new ConcurrencyLimit(concurrency);
    const listener = { downloadStarted: forward, downloadProgress: forward };
    const config = { maxConcurrent: concurrency, ...options.config };
    this.#pool = new ProfilePool(options.registry ?? defaultRegistry, config, listener, 250, options.fsync ?? true);
    this.#heartbeat = new Heartbeat(this.#redis.client, this.#keys, this.#fileId, options.heartbeatInterval ?? 5000);
    this.#cancels = new CancelWatch(this.#redis.client, this.#keys, options.cancelPollInterval ?? 250);
  }

  get queues(): string[] {
    return [...this.#workers.keys()];
  }

  async start(): Promise<void> {
    await this.#heartbeat.beat();
    this.swept = await this.#sweep();
    await this.#discover();
    this.#discovery = setInterval(() => void this.#discover().catch(() => {}), this.#options.discoveryInterval ?? 1000);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#discovery);
    await Promise.all([...this.#workers.values()].map((w) => w.close()));
    this.#cancels.close();
    await this.#pool.close();
    await this.#heartbeat.stop();
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

  async #discover(): Promise<void> {
    const names = await this.#redis.client.smembers(this.#keys.hosts);
    for (const name of names) if (!this.#workers.has(name) && !this.#closed) this.#listen(name);
  }

  #listen(queueName: string): void {
    const o = this.#options;
    const worker = new Worker<JobData, JobResult>(queueName, (job, _token, signal) => this.#process(job, signal), {
      connection: this.#redis.client,
      prefix: this.#name.prefix,
      name: this.id,
      concurrency: o.concurrency ?? 8,
      lockDuration: o.lockDuration ?? 120_000,
      stalledInterval: o.stalledInterval ?? 30_000,
      maxStalledCount: o.maxStalledCount ?? 10,
    });
    // Connection errors are retried by BullMQ; a listener keeps them from crashing the process.
    worker.on('error', () => {});
    this.#workers.set(queueName, worker);
  }

  async #process(job: Job<JobData, JobResult>, signal?: AbortSignal): Promise<JobResult> {
    const data = job.data;
    if (!isJobData(data)) throw new UnrecoverableError(`job ${job.id} does not hold nectar requests`);
    const jobId = job.id ?? '';
    const canceled = await this.#cancels.watch(jobId, data.run, signal);
    const progress = new ProgressForwarder(this.id, data.requests.length, this.#options.progressInterval ?? 500, (p: JobProgressData) =>
      job.updateProgress(p as unknown as object),
    );
    const ctx: JobContext = {
      workerId: this.id,
      fileId: this.#fileId,
      storage: this.#options.storage ?? { mode: 'shared' },
      fsync: this.#options.fsync ?? true,
      credentials: this.#options.credentials ?? {},
      pool: this.#pool,
      slots: this.#slots,
      progress,
      canceled,
    };
    try {
      return { worker: this.id, reports: await runJob(data, ctx) };
    } finally {
      await progress.stop();
      this.#cancels.unwatch(jobId);
    }
  }
}

function forward(report: { data: unknown }): void {
  const tag = report.data as { onProgress?: (r: unknown) => void } | undefined;
  tag?.onProgress?.(report);
}

function isJobData(value: unknown): value is JobData {
  const data = value as Partial<JobData> | null;
  return typeof data === 'object' && data !== null && data.v === 1 && typeof data.run === 'string' && Array.isArray(data.requests);
}
