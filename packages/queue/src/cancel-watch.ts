import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

interface Watched {
  readonly run: string;
  readonly all: AbortController;
  readonly requests: Map<number, AbortController>;
}

/**
 * Cancels reach a worker through markers in Redis (a whole run, or some requests of a job),
 * polled for the jobs it is running: a marker outlives a Redis blip or a missed message, and
 * costs one round trip per poll however many jobs are active.
 */
export class CancelWatch {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #active = new Map<string, Watched>();
  readonly #timer: NodeJS.Timeout;

  constructor(redis: Redis, keys: ClusterKeys, intervalMs: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#timer = setInterval(() => void this.poll().catch(() => {}), intervalMs);
    this.#timer.unref();
  }

  /** Starts watching a job; the returned function gives each request's signal. */
  async watch(jobId: string, run: string, external?: AbortSignal): Promise<(index: number) => AbortSignal> {
    const watched: Watched = { run, all: new AbortController(), requests: new Map() };
    this.#active.set(jobId, watched);
    external?.addEventListener('abort', () => watched.all.abort(), { once: true });
    await this.poll([jobId]).catch(() => {});
    return (index) => {
      let controller = watched.requests.get(index);
      if (controller === undefined) {
        controller = new AbortController();
        watched.requests.set(index, controller);
      }
      return AbortSignal.any([watched.all.signal, controller.signal]);
    };
  }

  unwatch(jobId: string): void {
    this.#active.delete(jobId);
  }

  close(): void {
    clearInterval(this.#timer);
    for (const watched of this.#active.values()) watched.all.abort();
    this.#active.clear();
  }

  async poll(jobIds: readonly string[] = [...this.#active.keys()]): Promise<void> {
    if (jobIds.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (const id of jobIds) {
      const run = this.#active.get(id)?.run ?? '';
      pipeline.exists(this.#keys.canceledRun(run));
      // Only the run that owns the job may cancel it: a producer that adopted it cancels its own copy.
      pipeline.smembers(this.#keys.canceledJob(id, run));
    }
    const replies = (await pipeline.exec()) ?? [];
    for (const [i, id] of jobIds.entries()) this.#apply(id, replies[2 * i]?.[1], replies[2 * i + 1]?.[1]);
  }

  #apply(jobId: string, runCanceled: unknown, indexes: unknown): void {
    const watched = this.#active.get(jobId);
    if (watched === undefined) return;
    const members = Array.isArray(indexes) ? (indexes as string[]) : [];
    if (runCanceled === 1 || members.includes('*')) {
      watched.all.abort();
      return;
    }
    for (const member of members) {
      const index = Number(member);
      let controller = watched.requests.get(index);
      if (controller === undefined) {
        controller = new AbortController();
        watched.requests.set(index, controller);
      }
      controller.abort();
    }
  }
}
