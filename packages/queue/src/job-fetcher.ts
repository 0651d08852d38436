import { randomUUID } from 'node:crypto';
import { type Job, Queue, type QueueOptions, type RedisQueueBackend, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobData, JobResult } from './job-data.js';

export interface FetcherOptions {
  readonly prefix: string;
  /** Recorded on each job BullMQ activates for us. */
  readonly workerName: string;
  /** Jobs run at once; a job is fetched only when one of these is free. */
  readonly slots: number;
  readonly lockDuration: number;
  readonly stalledInterval: number;
  readonly maxStalledCount: number;
  /** Longest pause between two looks at an idle host queue (a producer's wake-up cuts it short). */
  readonly maxIdleMs?: number;
}

/** The right to finish one job: lost when its lock could not be renewed. */
export interface Lease {
  /** Aborts when the lock is lost: another worker may have the job now. */
  readonly lost: AbortSignal;
  /** Renews the lock and says whether this execution still holds the job (the fencing check). */
  holds(): Promise<boolean>;
}

export type JobHandler = (job: Job<JobData, JobResult>, lease: Lease) => Promise<JobResult>;

interface HostQueue {
  readonly worker: Worker<JobData, JobResult>;
  /** Not looked at again before this time, unless woken. */
  nextTry: number;
  idleMs: number;
}

const minIdleMs = 50;

/**
 * Takes jobs from every host queue of the farm over the worker's one Redis connection: a job is
 * fetched (BullMQ's moveToActive, which applies each queue's global concurrency, rate limit and
 * pause) only when a local slot is free, so no worker holds jobs it cannot start while others
 * idle, and connections stay constant however many hosts there are. BullMQ's blocking fetch
 * would need a connection per queue; idle queues are polled instead, backing off to
 * `maxIdleMs` and woken by the producers' `added` messages.
 */
export class JobFetcher {
  readonly #options: FetcherOptions;
  readonly #handler: JobHandler;
  /** Lends its connection to a BullMQ Worker per host queue, none of which opens its own. */
  readonly #base: Queue;
  readonly #hosts = new Map<string, HostQueue>();
  readonly #running = new Set<Promise<void>>();
  #order: string[] = [];
  #cursor = 0;
  #closed = false;
  #paused = false;
  #wakeUp: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  constructor(client: Redis, options: FetcherOptions, handler: JobHandler) {
    this.#options = options;
    this.#handler = handler;
    // The per-queue siblings run BullMQ's scripts with the base's options (lock duration, stall
    // checks, worker name), so the base carries the worker's, not a queue's.
    const workerOptions = {
      connection: client,
      prefix: options.prefix,
      name: options.workerName,
      lockDuration: options.lockDuration,
      stalledInterval: options.stalledInterval,
      maxStalledCount: options.maxStalledCount,
    };
    this.#base = new Queue('nectar-fetcher', workerOptions as QueueOptions);
    this.#base.on('error', () => {});
  }

  get queues(): string[] {
    return [...this.#order];
  }

  get active(): number {
    return this.#running.size;
  }

  add(queueName: string): void {
    if (this.#hosts.has(queueName) || this.#closed) return;
    const o = this.#options;
    const worker = new Worker<JobData, JobResult>(
      queueName,
      null,
      {
        connection: this.#base.opts.connection,
        prefix: o.prefix,
        name: o.workerName,
        autorun: false,
        concurrency: o.slots,
        lockDuration: o.lockDuration,
        stalledInterval: o.stalledInterval,
        maxStalledCount: o.maxStalledCount,
      },
      // Siblings share the base's connection and own none: closing them closes nothing.
      () => this.#base.getBackend().forQueue(queueName, o.prefix) as RedisQueueBackend,
    );
    // Connection errors are retried; a listener keeps them from crashing the process.
    worker.on('error', () => {});
    // Jobs of a worker that died come back through BullMQ's stalled check, run per queue.
    void worker.startStalledCheckTimer().catch(() => {});
    this.#hosts.set(queueName, { worker, nextTry: 0, idleMs: 0 });
    this.#order.push(queueName);
    this.wake();
  }

  /** A producer added jobs (to one queue, or to any): look again now. */
  wake(queueName?: string): void {
    const host = queueName === undefined ? undefined : this.#hosts.get(queueName);
    if (host !== undefined) {
      host.nextTry = 0;
      host.idleMs = 0;
    }
    this.#wakeUp?.();
  }

  /** The whole farm is paused (or no longer): take no job of any queue meanwhile. */
  set paused(paused: boolean) {
    this.#paused = paused;
    if (!paused) this.wake();
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops fetching, lets running jobs finish, closes the per-queue workers. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wakeUp?.();
    await this.#loop;
    await Promise.allSettled(this.#running);
    await Promise.allSettled([...this.#hosts.values()].map((h) => h.worker.close()));
    await this.#base.close().catch(() => {});
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (this.#running.size >= this.#options.slots || this.#paused) {
        await this.#idle(Number.POSITIVE_INFINITY);
        continue;
      }
      if (!(await this.#takeOne())) await this.#idle(this.#nextDue() - Date.now());
    }
  }

  /** One pass over the due queues, from where the last pass stopped (fair to every host). */
  async #takeOne(): Promise<boolean> {
    const names = this.#order;
    for (let n = 0; n < names.length && !this.#closed; n++) {
      const index = (this.#cursor + n) % names.length;
      const host = this.#hosts.get(names[index] as string);
      if (host === undefined || host.nextTry > Date.now()) continue;
      const token = randomUUID();
      // A fetch that fails (Redis restarting) counts as an empty queue: the loop looks again later.
      const job = await host.worker.getNextJob(token, { block: false }).catch(() => undefined);
      if (job === undefined || job === null) {
        host.idleMs = Math.min(Math.max(minIdleMs, host.idleMs * 2), this.#options.maxIdleMs ?? 2000);
        host.nextTry = Date.now() + host.idleMs;
        continue;
      }
      host.idleMs = 0;
      this.#cursor = index + 1;
      this.#start(job as Job<JobData, JobResult>, token);
      return true;
    }
    return false;
  }

  #nextDue(): number {
    let due = Date.now() + (this.#options.maxIdleMs ?? 2000);
    for (const host of this.#hosts.values()) due = Math.min(due, host.nextTry);
    return due;
  }

  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = Number.isFinite(ms) ? setTimeout(done, Math.max(0, ms)) : undefined;
      this.#wakeUp = done;
      if (this.#closed) done();
    });
  }

  #start(job: Job<JobData, JobResult>, token: string): void {
    const running = this.#process(job, token).finally(() => {
      this.#running.delete(running);
      this.#wakeUp?.();
    });
    this.#running.add(running);
  }

  async #process(job: Job<JobData, JobResult>, token: string): Promise<void> {
    const { lockDuration } = this.#options;
    const lost = new AbortController();
    const extend = async (): Promise<boolean> => {
      const held = (await job.extendLock(token, lockDuration)) === 1;
      if (!held) lost.abort(new Error(`lost the lock of job ${job.id}`));
      return held;
    };
    // A renewal that fails to reach Redis proves nothing: only an answer of "not yours" is a loss.
    const renew = setInterval(() => void extend().catch(() => {}), lockDuration / 2);
    try {
      const result = await this.#handler(job, { lost: lost.signal, holds: () => extend().catch(() => false) });
      if (!lost.signal.aborted) await job.moveToCompleted(result, token, false);
    } catch (error) {
      if (!lost.signal.aborted) await job.moveToFailed(error instanceof Error ? error : new Error(String(error)), token, false).catch(() => {});
    } finally {
      clearInterval(renew);
    }
  }
}
