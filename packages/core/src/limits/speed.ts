import { setTimeout as sleep } from 'node:timers/promises';

/**
 * One byte budget shared by every transfer of a downloader. Each chunk reserves the next slot of
 * a virtual schedule at `bytesPerSecond` (a GCRA), so concurrent transfers share the rate fairly
 * in arrival order and an idle period earns no burst. A chunk waits until its slot *ends*: with
 * large chunks (a 1 MiB file read) releasing at the start would run a whole chunk ahead.
 */
export class SpeedLimiter {
  readonly bytesPerSecond: number;
  readonly #bytesPerMs: number;
  #nextFree = 0;

  constructor(bytesPerSecond: number) {
    this.bytesPerSecond = bytesPerSecond;
    this.#bytesPerMs = bytesPerSecond / 1000;
  }

  /** Milliseconds the caller must wait before sending `bytes`; the slot is reserved. */
  reserve(bytes: number, now = performance.now()): number {
    this.#nextFree = Math.max(this.#nextFree, now) + bytes / this.#bytesPerMs;
    return this.#nextFree - now;
  }

  /** Waits for the slot of `bytes`; rejects with an AbortError if the signal aborts first. */
  async take(bytes: number, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(bytes);
    if (wait >= 1) await sleep(wait, undefined, { signal });
  }
}
