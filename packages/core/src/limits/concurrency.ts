import { WaitQueue } from './wait-queue.js';

/**
 * A counting semaphore with a FIFO queue. One instance bounds every download()/stream() call of a
 * downloader (and every backend behind a registry), so overlapping calls share the limit.
 */
export class ConcurrencyLimit {
  #max: number;
  #active = 0;
  readonly #queue = new WaitQueue();

  constructor(max: number) {
    this.#max = max;
  }

  get max(): number {
    return this.#max;
  }

  /**
   * A new bound, effective at once: a higher one grants waiters now; with a lower one the slots
   * in use finish, and waiters get theirs only once the count is under the new bound.
   */
  setMax(max: number): void {
    this.#max = max;
    while (this.#active < this.#max && this.#queue.length > 0) {
      this.#active++;
      this.#queue.grant();
    }
  }

  get active(): number {
    return this.#active;
  }

  /** Resolves true with a slot held, or false (holding nothing) if the signal aborts first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.#active < this.#max) {
      this.#active++;
      return Promise.resolve(true);
    }
    return this.#queue.wait(signal);
  }

  release(): void {
    if (this.#active > this.#max) {
      this.#active--;
      return;
    }
    // The slot passes straight to the next waiter, so #active stays the same.
    if (!this.#queue.grant()) this.#active--;
  }
}
