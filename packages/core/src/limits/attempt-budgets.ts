import { type ByteThrottle, CombinedThrottle } from './byte-throttle.js';
import { SpeedLimiter } from './speed.js';

/**
 * The byte budgets that hold one attempt: the downloader's `maxSpeed`, the `maxSpeedPerHost` of
 * the origin the attempt is at now (a redirect moves it) and the request's own `maxSpeed`. The
 * main thread and a worker thread both throttle an attempt through `attemptThrottle()`, so one
 * rule says which budgets apply wherever the body is written.
 */
export interface AttemptBudgets {
  readonly downloader: SpeedLimiter | null;
  readonly request: SpeedLimiter | null;
  /** The origin's, read for every chunk. */
  host(): SpeedLimiter | null;
}

/** Every chunk waits for the latest slot among the attempt's budgets. */
export function attemptThrottle(budgets: AttemptBudgets): ByteThrottle {
  const list: Array<SpeedLimiter | null> = [budgets.downloader, null, budgets.request];
  return new CombinedThrottle(() => {
    list[1] = budgets.host();
    return list;
  });
}

/** The budgets as a worker thread receives them: their shared states, each holding its rate. */
export interface SharedBudgets {
  readonly downloader: SharedArrayBuffer | null;
  readonly host: SharedArrayBuffer | null;
  readonly request: SharedArrayBuffer | null;
}

export function shareBudgets(budgets: AttemptBudgets): SharedBudgets {
  return { downloader: budgets.downloader?.state ?? null, host: budgets.host()?.state ?? null, request: budgets.request?.state ?? null };
}

/**
 * A worker thread's view of an attempt's budgets. The origin's budget follows the main thread's
 * word after each redirect hop (`moveTo`), where the per-origin limits live; a `setLimits()`
 * reaches it through the shared state.
 */
export class SharedAttemptBudgets implements AttemptBudgets {
  readonly downloader: SpeedLimiter | null;
  readonly request: SpeedLimiter | null;
  #host: SpeedLimiter | null;

  constructor(shared: SharedBudgets) {
    this.downloader = view(shared.downloader);
    this.request = view(shared.request);
    this.#host = view(shared.host);
  }

  host(): SpeedLimiter | null {
    return this.#host;
  }

  moveTo(host: SharedArrayBuffer | null): void {
    this.#host = view(host);
  }
}

// A SharedArrayBuffer arrives as a new object with every message: a view per attempt, never a cache keyed by it.
function view(state: SharedArrayBuffer | null): SpeedLimiter | null {
  return state === null ? null : SpeedLimiter.sharing(state);
}
