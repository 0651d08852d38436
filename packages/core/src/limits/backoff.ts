/** The settings the slowdown rule reads: the retry policy's own. */
export interface BackoffSettings {
  /** The pause after a 429/503 without Retry-After, doubled while they keep coming. */
  readonly retryDelay: number;
  readonly retryMaxDelay: number;
  /** The longest Retry-After honoured. */
  readonly retryAfterMax: number;
}

/** What one slowdown decided. */
export interface Slowdown {
  /** Transfers at once now allowed to the origin. */
  readonly maxAtOnce: number;
  /** Milliseconds no new request goes to the origin. */
  readonly pause: number;
}

/** Decreases closer than this are one congestion event: a burst of 503s halves once, not n times. */
const DECREASE_GAP = 1000;
/** Recovery adds one transfer at once per this many milliseconds of successes. */
const RECOVERY_STEP = 1000;

/**
 * AIMD for one origin that answered 429 or 503: transfers at once are halved (at most once per
 * second) and requests pause — for the Retry-After asked (capped at retryAfterMax), else for the
 * retry backoff of the current streak; then each success a second after the pause ended (and a
 * second after each step) adds one back, until the origin is back where it was and the rule lets go.
 */
export class AdaptiveLimit {
  readonly #settings: BackoffSettings;
  /** The allowed transfers at once; Infinity when not slowed. */
  #limit = Number.POSITIVE_INFINITY;
  /** Where recovery ends: the ceiling or the load before the first slowdown. */
  #before = Number.POSITIVE_INFINITY;
  #lastDecrease = Number.NEGATIVE_INFINITY;
  /** When the next success may add one back: a step after the last change, counted from the pause's end. */
  #nextStep = 0;
  #streak = 0;

  constructor(settings: BackoffSettings) {
    this.#settings = settings;
  }

  get limit(): number {
    return this.#limit;
  }

  get slowed(): boolean {
    return this.#limit !== Number.POSITIVE_INFINITY;
  }

  /**
   * A 429/503 came back while `inFlight` transfers were under way, under a configured
   * `ceiling` (Infinity: none); `retryAfter` in ms when the server sent one that parsed.
   */
  slowDown(inFlight: number, ceiling: number, retryAfter: number | undefined, now: number): Slowdown {
    this.#streak++;
    if (now - this.#lastDecrease >= DECREASE_GAP || !this.slowed) {
      const current = Math.min(this.#limit, ceiling, Math.max(1, inFlight));
      if (!this.slowed) this.#before = Math.min(ceiling, Math.max(1, inFlight));
      this.#limit = Math.max(1, Math.floor(current / 2));
      this.#lastDecrease = now;
    }
    const pause = this.#pause(retryAfter);
    this.#nextStep = Math.max(this.#nextStep, now + pause + RECOVERY_STEP);
    return { maxAtOnce: this.#limit, pause };
  }

  /** A success: one more at once if a step has passed; true when the limit changed. */
  recover(now: number): boolean {
    this.#streak = 0;
    if (!this.slowed || now < this.#nextStep) return false;
    this.#nextStep = now + RECOVERY_STEP;
    this.#limit++;
    if (this.#limit >= this.#before) this.#limit = Number.POSITIVE_INFINITY;
    return true;
  }

  #pause(retryAfter: number | undefined): number {
    const { retryDelay, retryMaxDelay, retryAfterMax } = this.#settings;
    if (retryAfter !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) return Math.min(retryAfter, retryAfterMax);
    return Math.min(retryMaxDelay, retryDelay * 2 ** Math.min(this.#streak - 1, 30));
  }
}
