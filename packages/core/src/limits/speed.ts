import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Milliseconds on a clock every thread of the process agrees on. `performance.now()` counts from
 * each thread's own start, so a worker's reading would be meaningless to the main thread.
 */
export function sharedClock(): number {
  return performance.timeOrigin + performance.now();
}

const MAX_TIMER = 2 ** 31 - 1;

/**
 * One byte budget shared by every transfer of a downloader. Each chunk reserves the next slot of
 * a virtual schedule at `bytesPerSecond` (a GCRA), so concurrent transfers share the rate fairly
 * in arrival order and an idle period earns no burst. A chunk waits until its slot *ends*: with
 * large chunks (a 1 MiB file read) releasing at the start would run a whole chunk ahead.
 *
 * The schedule and the rate live in a SharedArrayBuffer (`state`): a worker thread that views
 * the same state (`SpeedLimiter.sharing`) shares the budget, each reservation being one
 * compare-and-swap, and sees a `setRate()` made on another thread from its next chunk.
 */
export class SpeedLimiter {
  /** The schedule's end (microseconds on `sharedClock()`) and the rate; hand it to a worker thread. */
  readonly state: SharedArrayBuffer;
  /** [0]: the schedule's end; [1]: the rate in thousandths of a byte per second, 0 for none. */
  readonly #slots: BigInt64Array;

  /**
   * `Infinity`: no limit (yet), one `setRate()` may set later. With the `state` of another
   * limiter this one is a view of that budget, rate included, and `bytesPerSecond` is not used:
   * a view must never impose a rate on a budget that others share unlimited.
   */
  constructor(bytesPerSecond: number, state?: SharedArrayBuffer) {
    this.state = state ?? new SharedArrayBuffer(16);
    this.#slots = new BigInt64Array(this.state, 0, 2);
    if (state === undefined) this.#slots[1] = storedRate(bytesPerSecond);
  }

  /** A view of a budget made elsewhere (another thread): its rate, now and after any `setRate()`, is the state's. */
  static sharing(state: SharedArrayBuffer): SpeedLimiter {
    return new SpeedLimiter(Number.POSITIVE_INFINITY, state);
  }

  get bytesPerSecond(): number {
    const rate = Atomics.load(this.#slots, 1);
    return rate === 0n ? Number.POSITIVE_INFINITY : Number(rate) / 1000;
  }

  /**
   * A new rate for every thread sharing the budget (`Infinity` lifts it). The schedule restarts,
   * as a fresh budget's would: slots reserved at a slow rate must not hold back a faster one.
   */
  setRate(bytesPerSecond: number): void {
    const rate = storedRate(bytesPerSecond);
    if (Atomics.exchange(this.#slots, 1, rate) !== rate) Atomics.store(this.#slots, 0, 0n);
  }

  /** Milliseconds the caller must wait before sending `bytes`; the slot is reserved. */
  reserve(bytes: number, now = sharedClock()): number {
    const rate = Atomics.load(this.#slots, 1);
    if (rate === 0n) return 0;
    const at = BigInt(Math.round(now * 1000));
    // Microseconds per byte = 10^6 / (rate / 1000).
    const cost = BigInt(Math.round((bytes * 1e9) / Number(rate)));
    for (;;) {
      const previous = Atomics.load(this.#slots, 0);
      const next = (previous > at ? previous : at) + cost;
      // Another thread may have reserved in between: then read its schedule and try again.
      if (Atomics.compareExchange(this.#slots, 0, previous, next) === previous) return Number(next - at) / 1000;
    }
  }

  /** Waits for the slot of `bytes`; rejects with an AbortError if the signal aborts first. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    await waitFor(this.reserve(bytes), signal);
  }
}

/** Sleeps `ms` (nothing under 1 ms); rejects with an AbortError if the signal aborts first. */
export async function waitFor(ms: number, signal?: AbortSignal): Promise<void> {
  // In steps: a timer of 2^31 ms or more fires at once, which would lift the limit.
  for (let wait = ms; wait >= 1; wait -= MAX_TIMER) await sleep(Math.min(wait, MAX_TIMER), undefined, { signal });
}

/** Bytes per second as the state holds them: thousandths (a rate may be fractional), 0 for none. */
function storedRate(bytesPerSecond: number): bigint {
  if (!Number.isFinite(bytesPerSecond)) return 0n;
  return BigInt(Math.max(1, Math.round(bytesPerSecond * 1000)));
}
