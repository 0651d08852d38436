/**
 * A counting semaphore with a FIFO queue. One instance bounds every download()/stream() call of a
 * downloader (and every backend behind a registry), so overlapping calls share the limit.
 */
export class ConcurrencyLimit {
  #max: number;
  #active = 0;
  readonly #waiting: Array<() => void> = [];

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
    while (this.#active < this.#max && this.#waiting.length > 0) {
      this.#active++;
      this.#waiting.shift()?.();
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
    return new Promise((resolve) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant);
        if (i !== -1) this.#waiting.splice(i, 1);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }

  release(): void {
    if (this.#active > this.#max) {
      this.#active--;
      return;
    }
    const next = this.#waiting.shift();
    // The slot passes straight to the next waiter, so #active stays the same.
    if (next !== undefined) next();
    else this.#active--;
  }
}
