/**
 * The minimum-throughput rule (curl's --speed-limit / --speed-time): an attempt that moves fewer
 * than `bytesPerSecond` on average over a window of `windowMs` fails, so a server trickling a
 * byte every 20 s — which the idle timeout never catches — cannot hold a slot forever.
 *
 * Time the transfer spends waiting on us (the shared speed limit, a caller's stream that does
 * not drain) is not counted against the server: the window only advances while nothing of ours
 * holds the transfer back.
 */
export class ThroughputFloor {
  readonly #minBytes: number;
  readonly #windowMs: number;
  readonly #onTooSlow: () => void;
  #bytes = 0;
  #elapsed = 0;
  #held = 0;
  #stopped = false;
  /** When time was last counted: a floor only counts from its own start. */
  #last = performance.now();

  constructor(bytesPerSecond: number, windowMs: number, onTooSlow: () => void) {
    this.#minBytes = (bytesPerSecond * windowMs) / 1000;
    this.#windowMs = windowMs;
    this.#onTooSlow = onTooSlow;
    ticker.add(this);
  }

  add(bytes: number): void {
    this.#bytes += bytes;
  }

  /** Around a wait of ours: the window pauses until `release()`. */
  hold(): void {
    this.#held++;
  }

  release(): void {
    this.#held--;
  }

  stop(): void {
    this.#stopped = true;
    ticker.delete(this);
  }

  /** Called about once a second by the shared ticker. */
  tick(now = performance.now()): void {
    const ms = now - this.#last;
    this.#last = now;
    if (this.#stopped || this.#held > 0) return;
    this.#elapsed += ms;
    if (this.#elapsed < this.#windowMs) return;
    if (this.#bytes < this.#minBytes) {
      this.stop();
      this.#onTooSlow();
      return;
    }
    this.#elapsed = 0;
    this.#bytes = 0;
  }
}

/**
 * The slowest rate a transfer may fall to. Under a downloader-wide `maxSpeed` a transfer's fair
 * share is maxSpeed / maxConcurrent; the floor stays well below it, so our own limit never trips it.
 */
export function effectiveFloor(minSpeed: number, maxSpeed: number | undefined, maxConcurrent: number): number {
  return maxSpeed === undefined ? minSpeed : Math.min(minSpeed, maxSpeed / maxConcurrent / 4);
}

/** One timer for every floor of the process, not one per transfer; it never keeps the process alive. */
class Ticker {
  readonly #floors = new Set<ThroughputFloor>();
  #timer: NodeJS.Timeout | undefined;

  add(floor: ThroughputFloor): void {
    this.#floors.add(floor);
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), 1000);
    this.#timer.unref();
  }

  delete(floor: ThroughputFloor): void {
    this.#floors.delete(floor);
    if (this.#floors.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const now = performance.now();
    for (const floor of this.#floors) floor.tick(now);
  }
}

const ticker = new Ticker();
