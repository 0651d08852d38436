import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { FarmHostLimits } from './host-limits.js';
import type { ClusterKeys } from './naming.js';

/** Waiting for Redis to come back, the gate retries this often. */
const redisRetryMs = 500;

/** How far ahead (in slots) an attempt looks for a free one before it waits and looks again. */
const slotHorizon = 64;

/**
 * What an attempt may lose between its slot's start and its request reaching the origin: the
 * worker's timer lateness, then its backend's way to the socket (a connect, a busy event loop).
 * Slots are cut so that `rate` of them span 1 s plus this, so that even a request delayed this
 * much never shares a 1-second window with `rate` others. Measured on a loaded 2-core machine:
 * a few ms, up to 100 ms for a worker's first connection to a host.
 */
export const rateGuardMs = 100;

/** An attempt that leaves the gate later than this after its slot began takes a new slot. */
const lateMs = rateGuardMs / 4;

/**
 * Per-host politeness at the socket, held across the farm in Redis with rate-limiter-flexible.
 *
 * Rate: time is cut into slots of (1 s + `rateGuardMs`)/rate, and every attempt (retries
 * included) reserves one slot of its host — a rate-limiter-flexible key per slot worth one
 * point — then waits for that slot to begin before it connects. Attempts therefore leave the
 * farm a slot apart, whichever workers send them, and the origin sees at most `rate` of them in
 * any one-second window as long as each reaches it within `rateGuardMs` of its slot (slots of
 * exactly 1/rate s would let the smallest jitter put rate + 1 in a window; a fixed one-second
 * window would allow twice the rate across its edge). Slots follow the workers' clocks, which
 * must be NTP-synchronised: a skew between machines adds to the spacing error.
 *
 * Slowing down: a 429 or 503 blocks the host (another limiter, its key blocked for the
 * Retry-After) on every worker, not just for the request that got it.
 */
export class HostGate {
  readonly #limits: (host: string) => FarmHostLimits | undefined;
  readonly #slots: RateLimiterRedis;
  readonly #holds: RateLimiterRedis;

  constructor(redis: Redis, keys: ClusterKeys, limits: (host: string) => FarmHostLimits | undefined) {
    const prefix = keys.hosts.replace(/:hosts$/, '');
    this.#limits = limits;
    // Each slot's key lives until its slot has passed (slotLifetime), not this default.
    this.#slots = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:slot`, points: 1, duration: 5 });
    this.#holds = new RateLimiterRedis({ storeClient: redis, keyPrefix: `${prefix}:hold`, points: 1, duration: 1 });
  }

  /** Waits until the host may be sent one more request; gives up only when the signal aborts. */
  async take(host: string, signal: AbortSignal): Promise<void> {
    await this.#unheld(host, signal);
    const rate = this.#limits(host)?.hostRate;
    if (rate === undefined) return;
    const slotMs = (1000 + rateGuardMs) / rate;
    for (;;) {
      const start = await this.#reserve(host, slotMs, signal);
      const wait = start - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal });
      // A process that stalled (a loaded machine) must not send a stale slot's request close to
      // later slots' requests: past `lateMs`, the attempt takes a new slot.
      if (Date.now() - start <= lateMs) return;
    }
  }

  /** The origin asked the farm to slow down (429/503): no worker sends to it for `ms`. */
  async slowDown(host: string, ms: number): Promise<void> {
    await this.#holds.block(host, Math.max(1, Math.ceil(ms / 1000))).catch(() => {});
  }

  /** The start time of the earliest free slot of the host, reserved for this attempt. */
  async #reserve(host: string, slotMs: number, signal: AbortSignal): Promise<number> {
    for (;;) {
      const first = Math.ceil(Date.now() / slotMs);
      for (let slot = first; slot < first + slotHorizon; slot++) {
        signal.throwIfAborted();
        const taken = await this.#slots.consume(`${host}:${slotMs}:${slot}`, 1, { customDuration: slotLifetime(slot * slotMs) }).then(
          () => true,
          (rejection: unknown) => {
            if (rejection instanceof RateLimiterRes) return false;
            throw rejection;
          },
        ).catch((error: unknown) => (error instanceof Error && !signal.aborted ? null : Promise.reject(error)));
        if (taken === null) {
          // Redis unreachable: wait for it rather than send unlimited.
          await sleep(redisRetryMs, undefined, { signal });
          break;
        }
        if (taken) return slot * slotMs;
      }
      await sleep(slotMs, undefined, { signal });
    }
  }

  async #unheld(host: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      const hold = await this.#holds.get(host).catch(() => null);
      if (hold === null || hold.consumedPoints <= 1) return;
      await sleep(Math.max(1, hold.msBeforeNext), undefined, { signal });
    }
  }
}

/**
 * Seconds a slot's reservation must last: until its slot began and a late attempt gave it up.
 * A slot may lie up to `slotHorizon` slots ahead — a minute and more at a slow rate — and a
 * reservation that expired before its slot began would let a second attempt take the same slot.
 */
export function slotLifetime(slotStart: number, now = Date.now()): number {
  return Math.max(1, Math.ceil((slotStart - now + lateMs) / 1000) + 1);
}
