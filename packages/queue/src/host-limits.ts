import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';

/** Politeness towards one host, held across the whole farm. */
export interface HostLimits {
  /** Requests to the host at once, over every worker. */
  concurrency?: number;
  /** Requests sent per second, over every worker, retries included. */
  requestsPerSecond?: number;
}

/**
 * Concurrency is BullMQ's global concurrency of the host's queue, which every worker obeys when
 * it fetches a job (a job runs its requests one at a time, so jobs at once are requests at once).
 * The rate is BullMQ's global rate limit too, spreading job starts evenly (one per 1/rate s);
 * the host gate then takes a token for every attempt at the socket (see host-gate.ts).
 */
export async function applyHostLimits(queue: Queue, limits: HostLimits | undefined): Promise<void> {
  if (limits?.concurrency !== undefined) await queue.setGlobalConcurrency(limits.concurrency);
  else await queue.removeGlobalConcurrency();
  if (limits?.requestsPerSecond !== undefined) await queue.setGlobalRateLimit(1, Math.max(1, Math.round(1000 / limits.requestsPerSecond)));
  else await queue.removeGlobalRateLimit();
}

/** Records a host's limits where operators list them and workers' gates read them (undefined clears). */
export async function storeHostLimits(redis: Redis, keys: ClusterKeys, host: string, limits: HostLimits | undefined): Promise<void> {
  if (limits === undefined || (limits.concurrency === undefined && limits.requestsPerSecond === undefined)) await redis.hdel(keys.limits, host);
  else await redis.hset(keys.limits, host, JSON.stringify(limits));
}

export async function readHostLimits(redis: Redis, keys: ClusterKeys): Promise<Record<string, HostLimits>> {
  const all = await redis.hgetall(keys.limits);
  const limits: Record<string, HostLimits> = {};
  for (const [host, json] of Object.entries(all)) {
    const parsed = parseLimits(json);
    if (parsed !== null) limits[host] = parsed;
  }
  return limits;
}

/** Throws, naming the field, when limits are not positive numbers. */
export function checkHostLimits(limits: HostLimits, where: string): void {
  for (const field of ['concurrency', 'requestsPerSecond'] as const) {
    const value = limits[field];
    if (value !== undefined && !(typeof value === 'number' && value > 0 && Number.isFinite(value))) {
      throw new TypeError(`${where}.${field} must be a positive number, got ${JSON.stringify(value)}`);
    }
  }
  if (limits.concurrency !== undefined && !Number.isInteger(limits.concurrency)) throw new TypeError(`${where}.concurrency must be a whole number`);
}

/** A worker's copy of the farm's limits, refreshed with each discovery tick. */
export class HostLimitsCache {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  #limits: Record<string, HostLimits> = {};
  #readAt = 0;
  #reading: Promise<void> | undefined;

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  get(host: string): HostLimits | undefined {
    return Object.hasOwn(this.#limits, host) ? this.#limits[host] : undefined;
  }

  /** Reads the limits again; callers at the same time share one read. */
  refresh(): Promise<void> {
    this.#reading ??= (async () => {
      const started = Date.now();
      try {
        this.#limits = await readHostLimits(this.#redis, this.#keys);
        this.#readAt = started;
      } finally {
        this.#reading = undefined;
      }
    })();
    return this.#reading;
  }

  /**
   * A producer stores a host's limits before it adds the host's first job: a job added after our
   * last read (its `timestamp`) may be the first under new limits, so read them before it runs.
   */
  async since(timestamp: number): Promise<void> {
    if (this.#readAt < timestamp) await this.refresh();
  }
}

function parseLimits(json: string): HostLimits | null {
  try {
    const value = JSON.parse(json) as HostLimits;
    return typeof value === 'object' && value !== null ? value : null;
  } catch {
    return null;
  }
}
