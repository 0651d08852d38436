import { type SpeedLimiter, waitFor } from './speed.js';

/**
 * What a body writer waits on before each chunk: nothing (undefined) when no limit holds it, so
 * an unthrottled transfer never pays for a promise.
 */
export interface ByteThrottle {
  take(bytes: number, signal?: AbortSignal): Promise<void> | undefined;
}

/**
 * Several byte budgets at once — the downloader's `maxSpeed`, the origin's `maxSpeedPerHost`, the
 * request's own `maxSpeed` — read afresh for every chunk, so a limit changed during a run (or an
 * origin reached by a redirect) applies from the next chunk. A chunk reserves its slot in each
 * and waits for the latest one.
 */
export class CombinedThrottle implements ByteThrottle {
  readonly #budgets: () => ReadonlyArray<SpeedLimiter | null>;

  constructor(budgets: () => ReadonlyArray<SpeedLimiter | null>) {
    this.#budgets = budgets;
  }

  take(bytes: number, signal?: AbortSignal): Promise<void> | undefined {
    let wait = 0;
    for (const budget of this.#budgets()) if (budget !== null) wait = Math.max(wait, budget.reserve(bytes));
    return wait >= 1 ? waitFor(wait, signal) : undefined;
  }
}
