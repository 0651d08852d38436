import { WaitQueue } from './wait-queue.js';

/**
 * When the next request to one origin may go: `hostRate` requests per second, evenly spaced (no
 * burst, so no window of one second ever holds more than the rate), and a pause a 429/503 asked
 * for. Waiters are granted in arrival order by one timer, re-armed whenever the rate or the
 * pause changes, so that `setLimits()` takes effect at once, not after a sleep already begun.
 *
 * Written here rather than taken from rate-limiter-flexible: its in-memory limiters count fixed
 * windows, which let twice the rate through across a window boundary, and cannot re-time
 * requests already waiting.
 */
export class RequestGate {
  /** Milliseconds between two grants; 0: no rate. */
  #interval: number;
  #lastGrant = Number.NEGATIVE_INFINITY;
  #pausedUntil = 0;
  readonly #queue = new WaitQueue();
  #timer: NodeJS.Timeout | undefined;
  readonly #now: () => number;

  constructor(perSecond: number | null, now: () => number = () => performance.now()) {
    this.#interval = intervalOf(perSecond);
    this.#now = now;
  }

  /** Requests a second from now on (null: unlimited); waiters are re-timed. */
  set rate(perSecond: number | null) {
    this.#interval = intervalOf(perSecond);
    this.#pump();
  }

  /** Holds every request until `until` (on this gate's clock); a shorter pause never cuts a longer one. */
  pauseUntil(until: number): void {
    if (until <= this.#pausedUntil) return;
    this.#pausedUntil = until;
    this.#pump();
  }

  /** Milliseconds of pause left. */
  get paused(): number {
    return Math.max(0, this.#pausedUntil - this.#now());
  }

  /** Whether nobody waits and the last grant no longer constrains the next one. */
  get idle(): boolean {
    return this.#queue.length === 0 && this.#nextAt() <= this.#now();
  }

  /** Resolves true when this request may go, or false if the signal aborts first. */
  wait(signal?: AbortSignal): Promise<boolean> {
    const granted = this.#queue.wait(signal, () => this.#pump());
    this.#pump();
    return granted;
  }

  /** Cancels the timer; waiters stay until their signals abort. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #nextAt(): number {
    return Math.max(this.#pausedUntil, this.#lastGrant + this.#interval);
  }

  #pump(): void {
    this.stop();
    for (;;) {
      if (this.#queue.length === 0) return;
      const now = this.#now();
      const at = this.#nextAt();
      if (at > now) {
        // A long pause waits in steps: Node fires a timer of 2^31 ms or more at once.
        this.#timer = setTimeout(() => this.#pump(), Math.min(Math.ceil(at - now), 2 ** 31 - 1));
        return;
      }
      this.#lastGrant = now;
      this.#queue.grant();
    }
  }
}

/**
 * Grants are spaced as if a second lasted 1.05 s: the time from a grant to the request's arrival
 * varies (a cold code path, a new connection), and with exact spacing a first request arriving
 * 30 ms late would put `hostRate + 1` arrivals in one second of the origin's log. The 5% leaves
 * 50 ms of such jitter per window at any rate.
 */
const SECOND_WITH_MARGIN = 1050;

function intervalOf(perSecond: number | null): number {
  return perSecond === null ? 0 : SECOND_WITH_MARGIN / perSecond;
}
