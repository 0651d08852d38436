/**
 * Waiters in arrival order, for the limits that hand out turns (slots, rate tokens, byte
 * budgets): each one resolves true when granted, or false when its signal aborts first, and then
 * leaves the queue at once so that a canceled request never holds a turn. A waiter may carry
 * what it asks for (`T`: the bytes of a reservation), which the owner reads before granting.
 */
export class WaitQueue<T = undefined> {
  readonly #waiting: Array<{ readonly item: T; readonly grant: () => void }> = [];

  get length(): number {
    return this.#waiting.length;
  }

  /** What the first waiter asks for; undefined when nobody waits. */
  get first(): T | undefined {
    return this.#waiting[0]?.item;
  }

  /** A turn in the queue; `onLeave` runs after an aborted waiter left (a timer to re-arm, a budget to re-check). */
  wait(signal?: AbortSignal, onLeave?: () => void, ...[item]: T extends undefined ? [] : [T]): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const entry = {
        item: item as T,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(entry);
        if (i !== -1) this.#waiting.splice(i, 1);
        resolve(false);
        onLeave?.();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
    });
  }

  /** Grants the first waiter its turn; false when nobody waits. */
  grant(): boolean {
    const next = this.#waiting.shift();
    if (next === undefined) return false;
    next.grant();
    return true;
  }
}
