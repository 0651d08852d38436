import { stat } from 'node:fs/promises';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

/** What a worker remembers of a file it stored: enough to tell it was deleted or changed since. */
interface Fingerprint {
  readonly size: number;
  readonly mtimeMs: number;
}

/**
 * Dedup per request, whatever job carried it: after a commit the worker records the file's size
 * and modification time under the request's id; a later request with the same id is answered
 * "already present" only while the file on disk still has both. Records are kept to `maxCount`
 * (oldest dropped first), so Redis holds a bounded number of them however long the farm runs.
 */
export class StoredFiles {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  readonly #maxCount: number;
  #writes = 0;

  constructor(redis: Redis, keys: ClusterKeys, maxCount: number) {
    this.#redis = redis;
    this.#keys = keys;
    this.#maxCount = maxCount;
  }

  /** The file's size when it is still the one stored for this request, else null. */
  async unchanged(requestId: string, path: string): Promise<number | null> {
    if (this.#maxCount === 0) return null;
    const recorded = parse(await this.#redis.hget(this.#keys.stored, requestId));
    if (recorded === null) return null;
    const now = await fingerprint(path);
    return now !== null && now.size === recorded.size && now.mtimeMs === recorded.mtimeMs ? now.size : null;
  }

  async record(requestId: string, path: string): Promise<void> {
    if (this.#maxCount === 0) return;
    const now = await fingerprint(path);
    if (now === null) return;
    await this.#redis.multi().hset(this.#keys.stored, requestId, `${now.size}:${now.mtimeMs}`).zadd(this.#keys.storedOrder, Date.now(), requestId).exec();
    // Trimming costs a ZCARD: once every 64 writes keeps the overshoot small and the cost low.
    if (++this.#writes % 64 === 0) await this.trim();
  }

  async forget(requestId: string): Promise<void> {
    await this.#redis.multi().hdel(this.#keys.stored, requestId).zrem(this.#keys.storedOrder, requestId).exec();
  }

  /** Drops the oldest records beyond `maxCount`. */
  async trim(): Promise<void> {
    const excess = (await this.#redis.zcard(this.#keys.storedOrder)) - this.#maxCount;
    if (excess <= 0) return;
    const oldest = await this.#redis.zrange(this.#keys.storedOrder, 0, excess - 1);
    if (oldest.length === 0) return;
    await this.#redis.multi().hdel(this.#keys.stored, ...oldest).zrem(this.#keys.storedOrder, ...oldest).exec();
  }
}

async function fingerprint(path: string): Promise<Fingerprint | null> {
  const info = await stat(path).catch(() => null);
  return info?.isFile() ? { size: info.size, mtimeMs: Math.trunc(info.mtimeMs) } : null;
}

function parse(value: string | null): Fingerprint | null {
  const match = value === null ? null : /^(\d+):(\d+)$/.exec(value);
  return match === null ? null : { size: Number(match[1]), mtimeMs: Number(match[2]) };
}
