import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

/** Drain marks outlive any run that could still be adding (as cancel markers do). */
const markTtlSeconds = 86_400;

/** Jobs removed per round trip. */
const removeChunk = 100;

/**
 * An operator's drain of one host queue: it removes the jobs waiting there and marks, first,
 * every run that owned one, so that the run's producer, still running, adds nothing more to
 * that queue and fails what it had left there (see `DrainMarks`). A job a worker took meanwhile
 * runs to its end. Returns how many jobs were removed.
 */
export async function drainHostQueue(redis: Redis, keys: ClusterKeys, queue: Queue): Promise<number> {
  const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed'], 0, -1);
  if (jobs.length === 0) return 0;
  const at = new Date().toISOString();
  const multi = redis.multi();
  for (const run of new Set(jobs.map((job) => runOf(job.data)).filter((r) => r !== undefined))) {
    multi.hset(keys.drainedRun(run), queue.name, at).expire(keys.drainedRun(run), markTtlSeconds);
  }
  const ids = jobs.map((job) => job.id).filter((id) => id !== undefined);
  multi.sadd(keys.drainedJobs(queue.name), ...ids).expire(keys.drainedJobs(queue.name), markTtlSeconds);
  // Marks before removals: a producer that sees its job gone must find why.
  await multi.exec();
  let removed = 0;
  for (let i = 0; i < ids.length; i += removeChunk) {
    const counts = await Promise.all(ids.slice(i, i + removeChunk).map((id) => queue.remove(id)));
    removed += counts.reduce((sum, n) => sum + n, 0);
  }
  return removed;
}

/**
 * A producer's view of drains: which of its runs an operator drained from which host queue.
 * A mark, once seen, is kept here for the producer's life: a drain sticks for the runs it drained.
 */
export class DrainMarks {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  /** `run queueName` → when it was drained. */
  readonly #seen = new Map<string, string>();

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  /** Without a round trip: what this producer already knows. */
  known(run: string, queueName: string): string | undefined {
    return this.#seen.get(`${run} ${queueName}`);
  }

  /** When the run was drained from the queue, or null: read from Redis unless already known. */
  async drainedAt(run: string, queueName: string): Promise<string | null> {
    const known = this.known(run, queueName);
    if (known !== undefined) return known;
    const at = await this.#redis.hget(this.#keys.drainedRun(run), queueName);
    if (at !== null) this.#seen.set(`${run} ${queueName}`, at);
    return at;
  }

  /**
   * Why a job of this run is not in Redis any more, if a drain took it: the run was drained
   * there, or the job (another run's, which ours was waiting on) was; the run is marked then.
   */
  async tookJob(run: string, queueName: string, jobId: string): Promise<string | null> {
    const at = await this.drainedAt(run, queueName);
    if (at !== null) return at;
    if ((await this.#redis.sismember(this.#keys.drainedJobs(queueName), jobId)) !== 1) return null;
    const now = new Date().toISOString();
    this.#seen.set(`${run} ${queueName}`, now);
    await this.#redis.multi().hset(this.#keys.drainedRun(run), queueName, now).expire(this.#keys.drainedRun(run), markTtlSeconds).exec();
    return now;
  }
}

function runOf(data: unknown): string | undefined {
  const run = (data as { run?: unknown } | null)?.run;
  return typeof run === 'string' ? run : undefined;
}
