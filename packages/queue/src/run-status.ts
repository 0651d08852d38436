import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

/** How long a run's status stays readable after its last change (7 days). */
export const runStatusTtlSeconds = 7 * 86_400;
/** Failed items kept per run, newest first. */
export const runFailedKept = 1000;
/** Runs listed by `nectar queue runs` (older ones expire with their TTL). */
const runsKept = 1000;

export interface FailedItem {
  url: string;
  destination: string;
  code: string;
  message: string;
}

/** A run as any process reads it from Redis, producer gone or not. */
export interface RunStatus {
  run: string;
  /** 'running' until the producer closed (or its download()/stream() settled every request). */
  state: 'running' | 'closed';
  startedAt: string | null;
  updatedAt: string | null;
  enqueued: number;
  succeeded: number;
  failed: number;
  canceled: number;
  /** Up to 1,000 failed items, newest first; URLs masked. */
  failedItems: FailedItem[];
}

/**
 * A run (one download()/stream() call) as a durable entity: counts and failed items live in
 * Redis, written by the producer as requests settle, and outlive it by `runStatusTtlSeconds`.
 */
export class RunLedger {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #pending = new Set<Promise<unknown>>();

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  started(run: string): void {
    const now = new Date().toISOString();
    this.#write(
      this.#redis
        .multi()
        .hset(this.#keys.run(run), { state: 'running', startedAt: now, updatedAt: now })
        .expire(this.#keys.run(run), runStatusTtlSeconds)
        .zadd(this.#keys.runs, Date.now(), run)
        .zremrangebyrank(this.#keys.runs, 0, -runsKept - 1),
    );
  }

  count(run: string, field: 'enqueued' | 'succeeded' | 'failed' | 'canceled', failed?: FailedItem): void {
    const key = this.#keys.run(run);
    const multi = this.#redis.multi().hincrby(key, field, 1).hset(key, 'updatedAt', new Date().toISOString()).expire(key, runStatusTtlSeconds);
    if (failed !== undefined) {
      const list = this.#keys.runFailed(run);
      multi.lpush(list, JSON.stringify(failed)).ltrim(list, 0, runFailedKept - 1).expire(list, runStatusTtlSeconds);
    }
    this.#write(multi);
  }

  closed(run: string): void {
    this.#write(this.#redis.multi().hset(this.#keys.run(run), { state: 'closed', updatedAt: new Date().toISOString() }));
  }

  /** Waits (a bounded time) for writes still on their way. */
  async flush(timeoutMs: number): Promise<void> {
    await Promise.race([Promise.allSettled([...this.#pending]), new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  #write(multi: ReturnType<Redis['multi']>): void {
    // Status is for operators: a write lost to a Redis outage must not fail a download.
    const pending: Promise<unknown> = multi.exec().catch(() => {});
    this.#pending.add(pending);
    void pending.finally(() => this.#pending.delete(pending));
  }
}

export async function readRunStatus(redis: Redis, keys: ClusterKeys, run: string): Promise<RunStatus | null> {
  const [fields, failed] = await Promise.all([redis.hgetall(keys.run(run)), redis.lrange(keys.runFailed(run), 0, -1)]);
  if (Object.keys(fields).length === 0) return null;
  return {
    run,
    state: fields.state === 'closed' ? 'closed' : 'running',
    startedAt: fields.startedAt ?? null,
    updatedAt: fields.updatedAt ?? null,
    enqueued: Number(fields.enqueued ?? 0),
    succeeded: Number(fields.succeeded ?? 0),
    failed: Number(fields.failed ?? 0),
    canceled: Number(fields.canceled ?? 0),
    failedItems: failed.map((line) => JSON.parse(line) as FailedItem),
  };
}

/** The most recent runs, newest first. */
export async function listRuns(redis: Redis, keys: ClusterKeys, count = 20): Promise<string[]> {
  return redis.zrevrange(keys.runs, 0, count - 1);
}
