import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { rateGuardMs } from './host-gate.js';
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
 * The rate is BullMQ's global rate limit too, spreading job starts evenly (one per gate slot);
 * the host gate then takes a token for every attempt at the socket (see host-gate.ts).
 */
export async function applyHostLimits(queue: Queue, limits: HostLimits | undefined): Promise<void> {
  if (limits?.concurrency !== undefined) await queue.setGlobalConcurrency(limits.concurrency);
  else await queue.removeGlobalConcurrency();
  // One job start per gate slot: jobs never pile up in workers' slots waiting for a token.
  if (limits?.requestsPerSecond !== undefined) await queue.setGlobalRateLimit(1, Math.max(1, Math.round((1000 + rateGuardMs) / limits.requestsPerSecond)));
  else await queue.removeGlobalRateLimit();
}

/**
 * An operator's limits for a host, in force at once and kept apart: producers never overwrite
 * them (undefined clears both, and the host's producers' own apply again when they next register).
 */
export async function storeOperatorLimits(redis: Redis, keys: ClusterKeys, host: string, limits: HostLimits | undefined): Promise<void> {
  if (limits === undefined || (limits.concurrency === undefined && limits.requestsPerSecond === undefined)) {
    await redis.multi().hdel(keys.limits, host).hdel(keys.operatorLimits, host).exec();
  } else {
    const json = JSON.stringify(limits);
    await redis.multi().hset(keys.limits, host, json).hset(keys.operatorLimits, host, json).exec();
  }
}

/** Stores the limits unless an operator set the host's (KEYS: limits, operatorLimits; ARGV: host, json). */
const storeUnlessOperatorScript = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`;

/**
 * A producer's limits for a host, stored only when no operator set the host's: operator limits
 * win over a producer's `hosts`/`defaultHostLimits`. Says whether they were stored (and so must
 * be applied to the host's queue).
 */
export async function storeProducerLimits(redis: Redis, keys: ClusterKeys, host: string, limits: HostLimits): Promise<boolean> {
  return (await redis.eval(storeUnlessOperatorScript, 2, keys.limits, keys.operatorLimits, host, JSON.stringify(limits))) === 1;
}

/** The hosts whose limits an operator set (the rest are producers'). */
export async function operatorLimitHosts(redis: Redis, keys: ClusterKeys): Promise<string[]> {
  return redis.hkeys(keys.operatorLimits);
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
