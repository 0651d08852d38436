import { type ChangeableLimit, type ResolvedConfig, checkLimit } from '../config.js';
import { NectarArgumentError, NectarError } from '../errors.js';
import { describe } from '../request.js';
import { AdaptiveLimit, type BackoffSettings } from './backoff.js';
import { ConcurrencyLimit } from './concurrency.js';
import { RequestGate } from './request-gate.js';
import { SpeedLimiter } from './speed.js';

/** The per-origin limits; null: none (the downloader-wide ones still apply). */
export interface HostLimitSettings {
  /** Transfers at once to one origin. */
  readonly maxPerHost: number | null;
  /** Requests per second to one origin, retries and redirect hops included. */
  readonly hostRate: number | null;
  /** Bytes per second from one origin, all its transfers together. */
  readonly maxSpeedPerHost: number | null;
}

/** What `hostSlowed` tells: an origin answered 429/503 and is slowed down. */
export interface HostSlowdown {
  /** `https://host:port`: an origin never carries credentials. */
  readonly origin: string;
  readonly status: number;
  /** The Retry-After the server asked for, in ms, or null when it sent none (or garbage). */
  readonly retryAfter: number | null;
  /** Transfers at once now allowed to the origin (it grows back by one a second of successes). */
  readonly maxAtOnce: number;
  /** Milliseconds no new request goes to the origin. */
  readonly pause: number;
}

/** Statuses that ask a client to slow down: too many requests, service unavailable. */
const slowDownStatus = new Set([429, 503]);

/** Origins kept without pruning: beyond this, idle ones are forgotten. */
const KEPT_ORIGINS = 256;

/** One origin's state: its slots, its request gate, its byte budget, its adaptive bound. */
class Host {
  readonly slots = new ConcurrencyLimit(Number.POSITIVE_INFINITY);
  readonly gate: RequestGate;
  readonly adaptive: AdaptiveLimit;
  /**
   * One budget for the origin's life, unlimited while `maxSpeedPerHost` is unset: a worker
   * thread views its state, and sees a `setLimits()` from its next chunk.
   */
  readonly speed = new SpeedLimiter(Number.POSITIVE_INFINITY);

  constructor(settings: HostLimitSettings, backoff: BackoffSettings) {
    this.gate = new RequestGate(settings.hostRate);
    this.adaptive = new AdaptiveLimit(backoff);
    this.apply(settings);
  }

  apply(settings: HostLimitSettings): void {
    this.slots.setMax(Math.min(settings.maxPerHost ?? Number.POSITIVE_INFINITY, this.adaptive.limit));
    this.gate.rate = settings.hostRate;
    this.speed.setRate(settings.maxSpeedPerHost ?? Number.POSITIVE_INFINITY);
  }

  get idle(): boolean {
    return this.slots.active === 0 && this.gate.idle && !this.adaptive.slowed;
  }
}

/**
 * The per-origin limits of one downloader, shared by all its calls: `maxPerHost`, `hostRate`,
 * `maxSpeedPerHost`, and the slowdown a 429/503 triggers. Each attempt gets a `HostPass`, which
 * takes the origin's slot and a rate token before every request it sends.
 */
export class HostLimits {
  #settings: HostLimitSettings;
  readonly #backoff: BackoffSettings;
  readonly #hosts = new Map<string, Host>();

  constructor(settings: HostLimitSettings, backoff: BackoffSettings) {
    this.#settings = settings;
    this.#backoff = backoff;
  }

  get settings(): HostLimitSettings {
    return this.#settings;
  }

  /** New limits, for every origin, at once: waiters are re-timed and slots granted or held back. */
  set(changes: Partial<HostLimitSettings>): void {
    this.#settings = { ...this.#settings, ...changes };
    for (const host of this.#hosts.values()) host.apply(this.#settings);
  }

  /** The pass of one attempt; `onSlowed` hears each slowdown its answers cause. */
  pass(signal: AbortSignal, onSlowed: (slowdown: HostSlowdown) => void = () => {}): HostPass {
    return new HostPass(this, signal, onSlowed);
  }

  /** Origins slowed down right now, with the bound they are under. */
  slowed(): Array<{ origin: string; maxAtOnce: number; paused: number }> {
    return [...this.#hosts].filter(([, h]) => h.adaptive.slowed).map(([origin, h]) => ({ origin, maxAtOnce: h.adaptive.limit, paused: h.gate.paused }));
  }

  /** @internal the state of one origin, made on first use. */
  host(origin: string): Host {
    let host = this.#hosts.get(origin);
    if (host === undefined) {
      if (this.#hosts.size >= KEPT_ORIGINS) this.#prune();
      host = new Host(this.#settings, this.#backoff);
      this.#hosts.set(origin, host);
    }
    return host;
  }

  /** @internal */
  slowDown(host: Host, origin: string, error: NectarError): HostSlowdown {
    const asked = error.details.retryAfter;
    const retryAfter = typeof asked === 'number' ? asked : undefined;
    const now = performance.now();
    const { maxAtOnce, pause } = host.adaptive.slowDown(host.slots.active, this.#settings.maxPerHost ?? Number.POSITIVE_INFINITY, retryAfter, now);
    host.gate.pauseUntil(now + pause);
    host.apply(this.#settings);
    return { origin, status: error.details.status as number, retryAfter: retryAfter ?? null, maxAtOnce, pause };
  }

  /** @internal */
  recover(host: Host): void {
    if (host.adaptive.recover(performance.now())) host.apply(this.#settings);
  }

  /** An origin with nothing in flight, nobody waiting and no slowdown holds nothing worth keeping. */
  #prune(): void {
    for (const [origin, host] of this.#hosts) {
      if (!host.idle) continue;
      host.gate.stop();
      this.#hosts.delete(origin);
    }
  }
}

/**
 * One attempt's passage through the per-origin limits. `begin(url)` (the slot) before the
 * attempt, `ready()` (the token) right before the backend runs; every later HTTP hop calls
 * `enter(url)` (core's redirect driver does): the origin's slot is held across hops
 * to the same origin and traded for the next origin's on a cross-origin redirect, and each request
 * waits for a rate token. `answered()` feeds the slowdown rule; `leave()` frees the slot.
 */
export class HostPass {
  readonly #limits: HostLimits;
  readonly #signal: AbortSignal;
  readonly #onSlowed: (slowdown: HostSlowdown) => void;
  #host: Host | null = null;
  #origin = '';
  /** ready() took a token the first hop has not used yet. */
  #fresh = false;

  constructor(limits: HostLimits, signal: AbortSignal, onSlowed: (slowdown: HostSlowdown) => void) {
    this.#limits = limits;
    this.#signal = signal;
    this.#onSlowed = onSlowed;
  }

  /** Before an attempt, whatever its backend: the first request's slot. */
  async begin(url: URL): Promise<void> {
    if (url.host === '') return this.leave();
    await this.#hold(url.origin);
  }

  /**
   * The first request's rate token, taken as late as core can: right before the backend runs,
   * after the attempt's setup, so that the spacing the origin sees is the spacing granted.
   */
  async ready(): Promise<void> {
    if (this.#host === null) return;
    if (!(await this.#host.gate.wait(this.#signal))) throw this.#aborted();
    this.#fresh = true;
  }

  /** Before each request: waits for the origin's slot (once per origin) and a rate token. */
  async enter(url: URL): Promise<void> {
    // file:// and other host-less URLs have no origin to be polite to.
    if (url.host === '') return this.leave();
    const origin = url.origin;
    if (this.#fresh && origin === this.#origin) {
      this.#fresh = false;
      return;
    }
    this.#fresh = false;
    await this.#hold(origin);
    if (!(await (this.#host as Host).gate.wait(this.#signal))) throw this.#aborted();
  }

  /** The origin's slot, kept while the attempt stays at that origin. */
  async #hold(origin: string): Promise<void> {
    if (origin === this.#origin) return;
    this.leave();
    const host = this.#limits.host(origin);
    if (!(await host.slots.acquire(this.#signal))) throw this.#aborted();
    this.#host = host;
    this.#origin = origin;
  }

  /** The byte budget of the origin the attempt is at now (read for every chunk). */
  get speed(): SpeedLimiter | null {
    return this.#host?.speed ?? null;
  }

  /** How the attempt ended: a 429/503 slows its origin down; a success lets it recover. */
  answered(error: unknown): void {
    const host = this.#host;
    if (host === null) return;
    if (error === null) {
      this.#limits.recover(host);
      return;
    }
    if (!(error instanceof NectarError) || error.code !== 'NECTAR_HTTP_STATUS' || !slowDownStatus.has(error.details.status as number)) return;
    this.#onSlowed(this.#limits.slowDown(host, this.#origin, error));
  }

  leave(): void {
    this.#host?.slots.release();
    this.#host = null;
    this.#origin = '';
    this.#fresh = false;
  }

  #aborted(): unknown {
    return this.#signal.reason ?? new NectarError('NECTAR_CANCELED', 'canceled');
  }
}

/** What `setLimits()` takes: any of the changeable limits, null to lift one. */
export type LimitChanges = Partial<Record<ChangeableLimit, number | null>>;

/** The per-origin limits a config asks for. */
export function hostLimitSettings(config: Pick<ResolvedConfig, ChangeableLimit>): HostLimitSettings {
  return { maxPerHost: config.maxPerHost ?? null, hostRate: config.hostRate ?? null, maxSpeedPerHost: config.maxSpeedPerHost ?? null };
}

const changeable: ReadonlySet<string> = new Set<ChangeableLimit>(['maxPerHost', 'hostRate', 'maxSpeedPerHost']);

/** setLimits()'s argument, checked as the config's fields are. */
export function limitChanges(input: unknown): Partial<HostLimitSettings> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new NectarArgumentError(`setLimits() takes an object ({ maxPerHost, hostRate, maxSpeedPerHost }), got ${describe(input)}`, 'NECTAR_INVALID_CONFIG');
  }
  const changes: Record<string, number | null> = {};
  for (const [field, value] of Object.entries(input)) {
    if (!changeable.has(field)) {
      throw new NectarArgumentError(`setLimits() changes maxPerHost, hostRate and maxSpeedPerHost, not ${JSON.stringify(field)}`, 'NECTAR_INVALID_CONFIG');
    }
    if (value === undefined) continue;
    if (value !== null) checkLimit(field as ChangeableLimit, value);
    changes[field] = value as number | null;
  }
  return changes;
}
