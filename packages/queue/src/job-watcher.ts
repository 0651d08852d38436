import { type Job, type Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { isJobProgress, isJobResult, type JobProgressData, type JobResult } from './job-data.js';

export interface JobHandlers {
  progress(progress: JobProgressData): void;
  completed(result: JobResult): void;
  /** BullMQ gave up on the job (its attempts are spent): a worker crashed or erred each time. */
  failed(reason: string, run: string | undefined): void;
  /** The job is not in Redis any more (evicted, removed, or Redis lost it). */
  gone(): void;
}

interface Watched {
  readonly queueName: string;
  readonly handlers: JobHandlers;
}

export interface WatcherOptions {
  /** How often job state is read back (default 1000 ms). */
  pollInterval?: number;
  /** Jobs read per poll (default 500), oldest-read first. */
  pollBatch?: number;
  /**
   * Host queues whose events are followed (default 16): each costs a blocking Redis connection,
   * so with more hosts the rest are followed by the poll alone (slower, never wrong).
   */
  maxEventQueues?: number;
}

/**
 * Follows jobs to their end. Queue events make it prompt; the truth is the job's state in
 * Redis, read back in a rolling poll, so an event missed during a disconnect or a Redis restart
 * changes nothing but latency.
 */
export class JobWatcher {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #queue: (name: string) => Queue;
  readonly #options: WatcherOptions;
  readonly #watched = new Map<string, Watched>();
  readonly #events = new Map<string, { events: QueueEvents; connection: Redis }>();
  readonly #timer: NodeJS.Timeout;
  #polling = false;

  constructor(redis: Redis, prefix: string, queue: (name: string) => Queue, options: WatcherOptions = {}) {
    this.#redis = redis;
    this.#prefix = prefix;
    this.#queue = queue;
    this.#options = options;
    this.#timer = setInterval(() => void this.#poll(), options.pollInterval ?? 1000);
    // The producer's process must be free to exit once it closed; a stray timer must not hold it.
    this.#timer.unref();
  }

  get size(): number {
    return this.#watched.size;
  }

  watch(queueName: string, jobId: string, handlers: JobHandlers): void {
    this.#watched.set(jobId, { queueName, handlers });
    this.#listen(queueName);
  }

  unwatch(jobId: string): void {
    this.#watched.delete(jobId);
  }

  /** Reads one job's state now. */
  async check(jobId: string): Promise<void> {
    const watched = this.#watched.get(jobId);
    if (watched === undefined) return;
    const job = await this.#queue(watched.queueName).getJob(jobId);
    if (this.#watched.get(jobId) === watched) await this.#apply(watched, job);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#watched.clear();
    const all = [...this.#events.values()];
    this.#events.clear();
    await Promise.all(all.map(async ({ events, connection }) => {
      await events.close().catch(() => {});
      connection.disconnect();
    }));
  }

  #listen(queueName: string): void {
    if (this.#events.has(queueName) || this.#events.size >= (this.#options.maxEventQueues ?? 16)) return;
    // QueueEvents blocks on XREAD: it needs a connection of its own.
    const connection = this.#redis.duplicate();
    connection.on('error', () => {});
    const events = new QueueEvents(queueName, { connection, prefix: this.#prefix });
    events.on('error', () => {});
    events.on('progress', ({ jobId, data }) => {
      if (isJobProgress(data)) this.#watched.get(jobId)?.handlers.progress(data);
    });
    events.on('completed', ({ jobId, returnvalue }) => {
      const watched = this.#watched.get(jobId);
      const result: unknown = typeof returnvalue === 'string' ? safeParse(returnvalue) : returnvalue;
      if (watched !== undefined && isJobResult(result)) watched.handlers.completed(result);
    });
    // A failed attempt may be retried, and a removal may be ours: the job's state decides.
    const recheck = ({ jobId }: { jobId: string }) => void this.check(jobId).catch(() => {});
    events.on('failed', recheck);
    events.on('removed', recheck);
    this.#events.set(queueName, { events, connection });
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#watched.size === 0) return;
    this.#polling = true;
    try {
      const batch = [...this.#watched.keys()].slice(0, this.#options.pollBatch ?? 500);
      // Rotate: the jobs read now go to the back of the line.
      for (const id of batch) {
        const watched = this.#watched.get(id);
        if (watched === undefined) continue;
        this.#watched.delete(id);
        this.#watched.set(id, watched);
      }
      await Promise.all(batch.map((id) => this.check(id).catch(() => {})));
    } finally {
      this.#polling = false;
    }
  }

  async #apply(watched: Watched, job: Job | undefined): Promise<void> {
    if (job === undefined) return watched.handlers.gone();
    if (isJobResult(job.returnvalue)) return watched.handlers.completed(job.returnvalue);
    if (job.finishedOn !== undefined && job.failedReason) {
      if ((await job.getState()) === 'failed') return watched.handlers.failed(job.failedReason, runOf(job.data));
    }
    if (isJobProgress(job.progress)) watched.handlers.progress(job.progress);
  }
}

/** The run a job in Redis was created for (another producer's, when ours was a duplicate). */
function runOf(data: unknown): string | undefined {
  const run = (data as { run?: unknown } | null)?.run;
  return typeof run === 'string' ? run : undefined;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
