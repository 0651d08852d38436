import { setTimeout as sleep } from 'node:timers/promises';
import { type JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DrainMarks } from './drain-marks.js';
import { applyHostLimits, type FarmHostLimits, farmHostLimits, type HostLimits, storeProducerLimits } from './host-limits.js';
import { type JobData, type JobRequest, jobName, type TransferProfile } from './job-data.js';
import { jobIdOf } from './job-id.js';
import { type ClusterKeys, type ClusterName, hostOf, hostQueueName } from './naming.js';

export interface ProducerOptions {
  /** Most small requests in one job (default 32); 1 turns batching off. */
  batchSize?: number;
  /** A request is small, and may share a job, when its expectedSize is at most this (default 256 KiB). */
  smallFileSize?: number;
  /** How long a partial batch waits for company (default 20 ms). */
  batchDelay?: number;
  /** Stop enqueuing to a host while this many of its jobs are waiting in Redis (default 1000). */
  maxWaiting?: number;
  /**
   * Limits by host (`example.org`, `example.org:8080`), held across the farm: `{ maxPerHost,
   * hostRate }`, core's fields (the old `concurrency`, `requestsPerSecond` still work, deprecated).
   */
  hosts?: Readonly<Record<string, HostLimits>>;
  /** Limits for hosts not listed in `hosts` (default: the producer config's `maxPerHost`/`hostRate`, if any). */
  defaultHostLimits?: HostLimits;
  /** How long (s) and how many finished jobs each host queue keeps for late readers (default 600 s, 1,000). */
  keepCompleted?: { age: number; count: number };
  /** Events kept in each host queue's BullMQ event stream (default 1,000; BullMQ's is 10,000). */
  maxEvents?: number;
  /** Job attempts: these cover a worker that crashed or lost Redis, not a failed download (default 3). */
  attempts?: number;
}

/** A request on its way to a job; `job` and `index` are set once its job is formed. */
export interface Outgoing {
  readonly wire: JobRequest;
  readonly run: string;
  readonly profile: TransferProfile;
  /** BullMQ priority (1 is highest; 0 or absent: none). Requests of different priorities never share a job. */
  readonly priority: number;
  job?: OutgoingJob<Outgoing>;
  index?: number;
}

export interface OutgoingJob<E extends Outgoing = Outgoing> {
  readonly id: string;
  readonly queueName: string;
  readonly data: JobData;
  readonly entries: E[];
  readonly priority: number;
  /** In Redis (addBulk returned); before that, the job can be withdrawn from the outbox. */
  added: boolean;
}

export const producerDefaults = {
  batchSize: 32,
  smallFileSize: 256 * 1024,
  batchDelay: 20,
  maxWaiting: 1000,
  keepCompleted: { age: 600, count: 1000 },
  maxEvents: 1000,
  attempts: 3,
} as const;

/**
 * The farm-wide limits a producer asks for each host, checked once: `hosts[host]`, else
 * `defaultHostLimits`, else the producer config's own `maxPerHost`/`hostRate` (core's per-origin
 * fields, which mean the same across the farm).
 */
export function producerHostLimits(options: ProducerOptions, config: { maxPerHost?: number | undefined; hostRate?: number | undefined }): (host: string) => FarmHostLimits | undefined {
  const byHost = new Map<string, FarmHostLimits>();
  for (const [host, limits] of Object.entries(options.hosts ?? {})) byHost.set(host.toLowerCase(), farmHostLimits(limits, `hosts[${JSON.stringify(host)}]`));
  const fromConfig = farmHostLimits({ maxPerHost: config.maxPerHost, hostRate: config.hostRate }, 'config');
  const fallback = options.defaultHostLimits !== undefined ? farmHostLimits(options.defaultHostLimits, 'defaultHostLimits') : Object.keys(fromConfig).length > 0 ? fromConfig : undefined;
  return (host) => byHost.get(host) ?? fallback;
}

/** What becomes of the jobs an Enqueuer sends. */
export interface EnqueuerEvents<E extends Outgoing> {
  /** The job is in Redis. */
  added(job: OutgoingJob<E>): void;
  /** An operator drained the job's run from its host queue (at `at`): the job was not added, or was taken back. */
  drained(job: OutgoingJob<E>, at: string): void;
}

interface Batch<E extends Outgoing> {
  readonly queueName: string;
  readonly entries: E[];
  timer: NodeJS.Timeout | undefined;
}

/**
 * Groups requests into jobs and adds them to their host's queue. Backpressure: a host's jobs are
 * added only while fewer than `maxWaiting` wait in Redis, so a million requests never sit there
 * at once; the producer's in-flight bound then stops reading the request source.
 */
export class Enqueuer<E extends Outgoing> {
  readonly #redis: Redis;
  readonly #name: ClusterName;
  readonly #keys: ClusterKeys;
  readonly #options: ProducerOptions;
  readonly #limits: (host: string) => FarmHostLimits | undefined;
  readonly #events: EnqueuerEvents<E>;
  readonly #drains: DrainMarks;
  readonly #queues = new Map<string, Queue>();
  readonly #ready = new Map<string, Promise<void>>();
  readonly #batches = new Map<string, Batch<E>>();
  readonly #outbox = new Map<string, OutgoingJob<E>[]>();
  readonly #draining = new Map<string, Promise<void>>();
  readonly #room = new Map<string, { waiting: number; at: number }>();
  /** The host behind each queue name, for re-registering its limits. */
  readonly #hostOf = new Map<string, string>();
  readonly #onReady = () => this.#reRegister();
  #closing = false;
  /** A Redis that restarted may have lost hosts and limits: the first ready is not a restart. */
  #connected = false;

  constructor(
    redis: Redis,
    name: ClusterName,
    keys: ClusterKeys,
    options: ProducerOptions,
    limits: (host: string) => FarmHostLimits | undefined,
    drains: DrainMarks,
    events: EnqueuerEvents<E>,
  ) {
    this.#redis = redis;
    this.#name = name;
    this.#keys = keys;
    this.#options = options;
    this.#limits = limits;
    this.#drains = drains;
    this.#events = events;
    this.#connected = redis.status === 'ready';
    redis.on('ready', this.#onReady);
  }

  queue(queueName: string): Queue {
    let queue = this.#queues.get(queueName);
    if (queue === undefined) {
      const maxLen = this.#options.maxEvents ?? producerDefaults.maxEvents;
      queue = new Queue(queueName, { connection: this.#redis, prefix: this.#name.prefix, streams: { events: { maxLen } } });
      queue.on('error', () => {});
      this.#queues.set(queueName, queue);
    }
    return queue;
  }

  add(entry: E): void {
    const host = hostOf(entry.wire.url);
    const queueName = hostQueueName(this.#name, host);
    if (!this.#batchable(entry, host)) {
      this.#send([entry], queueName);
      return;
    }
    const key = `${entry.run} ${entry.priority} ${queueName}`;
    let batch = this.#batches.get(key);
    if (batch === undefined) {
      batch = { queueName, entries: [], timer: undefined };
      this.#batches.set(key, batch);
      batch.timer = setTimeout(() => this.#flush(key), this.#options.batchDelay ?? 20);
    }
    batch.entries.push(entry);
    if (batch.entries.length >= (this.#options.batchSize ?? 32)) this.#flush(key);
  }

  /** Takes a request back if it has not joined a job yet. */
  withdraw(entry: E): boolean {
    for (const batch of this.#batches.values()) {
      const i = batch.entries.indexOf(entry);
      if (i !== -1) {
        batch.entries.splice(i, 1);
        return true;
      }
    }
    return false;
  }

  /** Sends every partial batch now (the producer is about to wait for results). */
  flushAll(): void {
    for (const key of [...this.#batches.keys()]) this.#flush(key);
  }

  /** Adds a job again, with its id, after Redis lost it. */
  resend(job: OutgoingJob<E>): void {
    job.added = false;
    this.#queueJob(job);
  }

  /** A new job of this run for requests another run's job answered: the worker checks them again. */
  recheck(job: OutgoingJob<E>, entries: E[]): void {
    const first = entries[0] as E;
    this.#send(entries, job.queueName, `${jobIdOf(entries.map((e) => e.wire))}-${first.run.slice(0, 8)}`);
  }

  /** Takes a job back that is still in the outbox; false once it is in Redis. */
  withdrawJob(job: OutgoingJob<E>): boolean {
    const outbox = this.#outbox.get(job.queueName) ?? [];
    const i = outbox.indexOf(job);
    if (i === -1) return false;
    outbox.splice(i, 1);
    return true;
  }

  /** Stops adding: drains waiting for room end now (their jobs' requests were canceled). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#redis.off('ready', this.#onReady);
    for (const batch of this.#batches.values()) clearTimeout(batch.timer);
    this.#batches.clear();
    this.#outbox.clear();
    await Promise.allSettled(this.#draining.values());
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => {})));
  }

  #batchable(entry: E, host: string): boolean {
    const size = entry.wire.expectedSize;
    // A rate limit counts jobs: a batch would make several requests for one token.
    if (this.#limits(host)?.hostRate !== undefined) return false;
    return (this.#options.batchSize ?? 32) > 1 && size !== undefined && size <= (this.#options.smallFileSize ?? 256 * 1024);
  }

  #flush(key: string): void {
    const batch = this.#batches.get(key);
    if (batch === undefined) return;
    this.#batches.delete(key);
    clearTimeout(batch.timer);
    if (batch.entries.length > 0) this.#send(batch.entries, batch.queueName);
  }

  #send(entries: E[], queueName: string, id?: string): void {
    const requests = entries.map((e) => e.wire);
    const first = entries[0] as E;
    const job: OutgoingJob<E> = {
      id: id ?? jobIdOf(requests),
      queueName,
      data: { v: 1, run: first.run, profile: first.profile, requests },
      entries,
      priority: first.priority,
      added: false,
    };
    this.#hostOf.set(queueName, hostOf(first.wire.url));
    entries.forEach((entry, index) => {
      entry.job = job as OutgoingJob<Outgoing>;
      entry.index = index;
    });
    this.#queueJob(job);
  }

  #queueJob(job: OutgoingJob<E>): void {
    const outbox = this.#outbox.get(job.queueName) ?? [];
    outbox.push(job);
    this.#outbox.set(job.queueName, outbox);
    if (!this.#draining.has(job.queueName)) {
      const drain = this.#drain(job.queueName).finally(() => this.#draining.delete(job.queueName));
      this.#draining.set(job.queueName, drain);
    }
  }

  /** One drain per host queue: jobs go out in order, in bulk, as room allows. */
  async #drain(queueName: string): Promise<void> {
    const outbox = this.#outbox.get(queueName) ?? [];
    await this.#prepare(queueName);
    while (outbox.length > 0 && !this.#closing) {
      const room = await this.#waitForRoom(queueName);
      const jobs = await this.#undrained(queueName, outbox.splice(0, Math.min(room, 100)));
      if (jobs.length === 0) continue;
      await this.queue(queueName).addBulk(jobs.map((job) => ({ name: jobName, data: job.data, opts: this.#jobOptions(job.id, job.priority) })));
      const state = this.#room.get(queueName);
      if (state !== undefined) state.waiting += jobs.length;
      // Workers poll idle queues slowly; this tells them to look now.
      void this.#redis.publish(this.#keys.added, queueName).catch(() => {});
      for (const job of jobs) {
        job.added = true;
        this.#events.added(job);
      }
      await this.#recallDrained(queueName, jobs);
    }
  }

  /** Jobs whose run an operator drained from this queue are not added: their requests fail. */
  async #undrained(queueName: string, jobs: OutgoingJob<E>[]): Promise<OutgoingJob<E>[]> {
    const drained = new Map<string, string | null>();
    for (const run of new Set(jobs.map((job) => job.data.run))) drained.set(run, await this.#drains.drainedAt(run, queueName));
    const kept: OutgoingJob<E>[] = [];
    for (const job of jobs) {
      const at = drained.get(job.data.run) ?? null;
      if (at === null) kept.push(job);
      else this.#events.drained(job, at);
    }
    return kept;
  }

  /**
   * A drain that ran between the check above and the add did not see these jobs: take them back
   * (one a worker already took runs to its end). Their watcher then finds them gone, drained.
   */
  async #recallDrained(queueName: string, jobs: OutgoingJob<E>[]): Promise<void> {
    for (const run of new Set(jobs.map((job) => job.data.run))) {
      if ((await this.#drains.drainedAt(run, queueName)) === null) continue;
      const queue = this.queue(queueName);
      await Promise.all(jobs.filter((job) => job.data.run === run).map((job) => queue.remove(job.id).catch(() => 0)));
    }
  }

  /** Makes the host queue known to workers and stores its limits, once per connection. */
  #prepare(queueName: string): Promise<void> {
    let ready = this.#ready.get(queueName);
    if (ready === undefined) {
      ready = this.#register(queueName).catch((error: unknown) => {
        this.#ready.delete(queueName);
        throw error;
      });
      this.#ready.set(queueName, ready);
    }
    return ready;
  }

  async #register(queueName: string): Promise<void> {
    await this.#redis.sadd(this.#keys.hosts, queueName);
    const host = this.#hostOf.get(queueName);
    const limits = host === undefined ? undefined : this.#limits(host);
    if (host === undefined || limits === undefined) return;
    // An operator's `limits set` wins: the queue keeps the operator's settings then.
    if (await storeProducerLimits(this.#redis, this.#keys, host, limits)) await applyHostLimits(this.queue(queueName), limits);
  }

  /** After a reconnect Redis may be empty (a restart without persistence): register everything again. */
  #reRegister(): void {
    if (!this.#connected) {
      this.#connected = true;
      return;
    }
    this.#ready.clear();
    this.#room.clear();
    for (const queueName of this.#hostOf.keys()) void this.#prepare(queueName).catch(() => {});
  }

  /** Jobs that may be added now: waits, polling the waiting count, while the queue is full. */
  async #waitForRoom(queueName: string): Promise<number> {
    const max = this.#options.maxWaiting ?? producerDefaults.maxWaiting;
    for (;;) {
      if (this.#closing) return 0;
      let state = this.#room.get(queueName);
      if (state === undefined || state.waiting >= max) {
        if (state !== undefined && Date.now() - state.at < 100) await sleep(100);
        state = { waiting: await this.queue(queueName).getWaitingCount(), at: Date.now() };
        this.#room.set(queueName, state);
      }
      if (state.waiting < max) return max - state.waiting;
    }
  }

  #jobOptions(jobId: string, priority: number): JobsOptions {
    const keep = this.#options.keepCompleted ?? producerDefaults.keepCompleted;
    return {
      jobId,
      ...(priority > 0 ? { priority } : {}),
      attempts: this.#options.attempts ?? producerDefaults.attempts,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: keep,
      removeOnFail: keep,
    };
  }
}
