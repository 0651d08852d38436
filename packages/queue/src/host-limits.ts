import { NectarArgumentError, NectarError } from '@nectar/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { rateGuardMs } from './host-gate.js';
import type { ClusterKeys } from './naming.js';

/**
 * Politeness towards one host, held across the whole farm: core's per-origin fields
 * (`maxPerHost`, `hostRate`) with the same meanings, counted over every worker instead of one
 * downloader. Core's `maxSpeedPerHost` is not held farm-wide: each worker's own downloader
 * applies it (`nectar worker --limit-rate-per-host`).
 */
export interface HostLimits {
  /** Transfers to the host at once, over every worker (core's `maxPerHost`). */
  maxPerHost?: number;
  /** Requests per second to the host, over every worker, retries included (core's `hostRate`). */
  hostRate?: number;
  /** @deprecated The old name of `maxPerHost`; still read, with a `NECTAR_CONFIG_DEPRECATED` warning. */
  concurrency?: number;
  /** @deprecated The old name of `hostRate`; still read, with a `NECTAR_CONFIG_DEPRECATED` warning. */
  requestsPerSecond?: number;
}

/** Host limits in core's names only, as the farm stores and applies them. */
export type FarmHostLimits = Pick<HostLimits, 'maxPerHost' | 'hostRate'>;

/** The warning code for an old name of a limit, of the family of core's `NECTAR_CONFIG_NEAR_MISS`. */
export const DEPRECATED_WARNING = 'NECTAR_CONFIG_DEPRECATED';

/** Old names already warned about: one warning per name and process. */
const warned = new Set<string>();

/**
 * Says, once per old name and process, that an old name was used (`what`: where, as the caller
 * wrote it) and which name replaces it. A DeprecationWarning: `--no-deprecation` silences it.
 */
export function warnDeprecated(old: string, what: string, now: string): void {
  if (warned.has(old)) return;
  warned.add(old);
  process.emitWarning(`${what} is deprecated: use ${now}, the same limit under @nectar/core's name`, {
    type: 'DeprecationWarning',
    code: DEPRECATED_WARNING,
  });
}

/** The old names of the farm's limits and the names that replace them. */
const aliases = [
  ['concurrency', 'maxPerHost'],
  ['requestsPerSecond', 'hostRate'],
] as const;

/**
 * A caller's limits (producer options, `QueueAdmin.setLimits`) in core's names, checked: old
 * names are mapped with a deprecation warning, an old and a new name of one limit together, an
 * unknown field or a value that is not a positive number fail with `NECTAR_INVALID_CONFIG`, and
 * `maxSpeedPerHost` fails with `NECTAR_NOT_SUPPORTED` (no farm-wide byte limit: set it on workers).
 */
export function farmHostLimits(limits: unknown, where: string): FarmHostLimits {
  if (typeof limits !== 'object' || limits === null || Array.isArray(limits)) {
    throw new NectarArgumentError(`${where} must be an object ({ maxPerHost, hostRate }), got ${JSON.stringify(limits)}`, 'NECTAR_INVALID_CONFIG');
  }
  const input = limits as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (field === 'maxPerHost' || field === 'hostRate') {
      result[field] = value;
      continue;
    }
    const alias = aliases.find(([old]) => old === field);
    if (alias !== undefined) {
      const [old, now] = alias;
      if (input[now] !== undefined) throw new NectarArgumentError(`${where}.${old} and ${where}.${now} are the same limit: give ${now} only`, 'NECTAR_INVALID_CONFIG');
      warnDeprecated(old, `${where}.${old}`, `${where}.${now}`);
      result[now] = value;
      continue;
    }
    if (field === 'maxSpeedPerHost') {
      throw new NectarError(
        'NECTAR_NOT_SUPPORTED',
        `${where}.maxSpeedPerHost: @nectar/queue holds no per-host byte limit across the farm; give it to each worker (nectar worker --limit-rate-per-host, or maxSpeedPerHost in its --config), whose downloader applies it`,
        { details: { field: 'maxSpeedPerHost' } },
      );
    }
    throw new NectarArgumentError(`${where}.${field} is not a host limit: use maxPerHost and hostRate`, 'NECTAR_INVALID_CONFIG');
  }
  checkHostLimits(result, where);
  return result as FarmHostLimits;
}

/**
 * Concurrency is BullMQ's global concurrency of the host's queue, which every worker obeys when
 * it fetches a job (a job runs its requests one at a time, so jobs at once are requests at once).
 * The rate is BullMQ's global rate limit too, spreading job starts evenly (one per gate slot);
 * the host gate then takes a token for every attempt at the socket (see host-gate.ts).
 */
export async function applyHostLimits(queue: Queue, limits: HostLimits | undefined): Promise<void> {
  const farm = limits === undefined ? {} : farmHostLimits(limits, 'limits');
  if (farm.maxPerHost !== undefined) await queue.setGlobalConcurrency(farm.maxPerHost);
  else await queue.removeGlobalConcurrency();
  // One job start per gate slot: jobs never pile up in workers' slots waiting for a token.
  if (farm.hostRate !== undefined) await queue.setGlobalRateLimit(1, Math.max(1, Math.round((1000 + rateGuardMs) / farm.hostRate)));
  else await queue.removeGlobalRateLimit();
}

/**
 * An operator's limits for a host, in force at once and kept apart: producers never overwrite
 * them (undefined clears both, and the host's producers' own apply again when they next register).
 */
export async function storeOperatorLimits(redis: Redis, keys: ClusterKeys, host: string, limits: FarmHostLimits | undefined): Promise<void> {
  if (limits === undefined || (limits.maxPerHost === undefined && limits.hostRate === undefined)) {
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
export async function storeProducerLimits(redis: Redis, keys: ClusterKeys, host: string, limits: FarmHostLimits): Promise<boolean> {
  return (await redis.eval(storeUnlessOperatorScript, 2, keys.limits, keys.operatorLimits, host, JSON.stringify(limits))) === 1;
}

/** The hosts whose limits an operator set (the rest are producers'). */
export async function operatorLimitHosts(redis: Redis, keys: ClusterKeys): Promise<string[]> {
  return redis.hkeys(keys.operatorLimits);
}

/** The limits in force, by host, in core's names (limits stored by an earlier release under the old names are read too). */
export async function readHostLimits(redis: Redis, keys: ClusterKeys): Promise<Record<string, FarmHostLimits>> {
  const all = await redis.hgetall(keys.limits);
  const limits: Record<string, FarmHostLimits> = {};
  for (const [host, json] of Object.entries(all)) {
    const parsed = parseLimits(json);
    if (parsed !== null) limits[host] = parsed;
  }
  return limits;
}

/** Throws `NECTAR_INVALID_CONFIG`, naming the field, when limits are not what core accepts for them. */
function checkHostLimits(limits: Record<string, unknown>, where: string): void {
  const { maxPerHost, hostRate } = limits;
  if (maxPerHost !== undefined && !(typeof maxPerHost === 'number' && Number.isSafeInteger(maxPerHost) && maxPerHost >= 1)) {
    throw new NectarArgumentError(`${where}.maxPerHost must be a whole number of at least 1, got ${JSON.stringify(maxPerHost)}`, 'NECTAR_INVALID_CONFIG');
  }
  if (hostRate !== undefined && !(typeof hostRate === 'number' && Number.isFinite(hostRate) && hostRate >= 0.001)) {
    throw new NectarArgumentError(`${where}.hostRate must be a number of requests per second, at least 0.001, got ${JSON.stringify(hostRate)}`, 'NECTAR_INVALID_CONFIG');
  }
}

/** A worker's copy of the farm's limits, refreshed with each discovery tick. */
export class HostLimitsCache {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;
  #limits: Record<string, FarmHostLimits> = {};
  #readAt = 0;
  #reading: Promise<void> | undefined;

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  get(host: string): FarmHostLimits | undefined {
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

/**
 * Stored limits in core's names, without warnings (Redis is not the caller): a record an earlier
 * release wrote under the old names (kept by a Redis with persistence) still holds.
 */
function parseLimits(json: string): FarmHostLimits | null {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null) return null;
  const stored = value as Record<string, unknown>;
  const limits: FarmHostLimits = {};
  const maxPerHost = stored.maxPerHost ?? stored.concurrency;
  const hostRate = stored.hostRate ?? stored.requestsPerSecond;
  if (typeof maxPerHost === 'number') limits.maxPerHost = maxPerHost;
  if (typeof hostRate === 'number') limits.hostRate = hostRate;
  return limits;
}
