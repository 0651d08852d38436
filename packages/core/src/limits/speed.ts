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
 * The schedule lives in a SharedArrayBuffer (`state`): a worker thread that builds a limiter on
 * the same state shares the budget, each reservation being one compare-and-swap.
 */
export class SpeedLimiter {
  readonly bytesPerSecond: number;
  /** The schedule's end, in microseconds on `sharedClock()`; hand it to a worker thread. */
  readonly state: SharedArrayBuffer;
  readonly #microsPerByte: number;
  readonly #nextFree: BigInt64Array;

  constructor(bytesPerSecond: number, state: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.bytesPerSecond = bytesPerSecond;
    this.state = state;
    this.#microsPerByte = 1_000_000 / bytesPerSecond;
    this.#nextFree = new BigInt64Array(state, 0, 1);
  }

  /** Milliseconds the caller must wait before sending `bytes`; the slot is reserved. */
  reserve(bytes: number, now = sharedClock()): number {
    const at = BigInt(Math.round(now * 1000));
    const cost = BigInt(Math.round(bytes * this.#microsPerByte));
    for (;;) {
      const previous = Atomics.load(this.#nextFree, 0);
      const next = (previous > at ? previous : at) + cost;
      // Another thread may have reserved in between: then read its schedule and try again.
      if (Atomics.compareExchange(this.#nextFree, 0, previous, next) === previous) return Number(next - at) / 1000;
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
