import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

/**
 * A worker's proof of life: a key that expires unless renewed. The sweep of another worker
 * removes stage files only of workers whose key is gone.
 */
export class Heartbeat {
  readonly #redis: Redis;
  readonly #key: string;
  readonly #ttlMs: number;
  readonly #timer: NodeJS.Timeout;

  constructor(redis: Redis, keys: ClusterKeys, fileId: string, intervalMs: number) {
    this.#redis = redis;
    this.#key = keys.worker(fileId);
    this.#ttlMs = intervalMs * 3;
    this.#timer = setInterval(() => void this.beat().catch(() => {}), intervalMs);
    this.#timer.unref();
  }

  beat(): Promise<unknown> {
    return this.#redis.set(this.#key, String(process.pid), 'PX', this.#ttlMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#redis.del(this.#key).catch(() => {});
  }
}

export async function isWorkerAlive(redis: Redis, keys: ClusterKeys, fileId: string): Promise<boolean> {
  return (await redis.exists(keys.worker(fileId))) === 1;
}
