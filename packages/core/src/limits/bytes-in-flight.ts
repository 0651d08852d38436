import { WaitQueue } from './wait-queue.js';

/**
 * `maxBytesInFlight`: the bytes all transfers of a downloader may be fetching at once, each
 * counted by its announced size as soon as its response headers are in, so that a run of
 * multi-GiB files cannot fill a disk with part files. Granted in arrival order; a transfer that
 * would pass the budget waits until others finish, and one alone always runs, however large.
 */
export class BytesInFlight {
  readonly #max: number;
  #used = 0;
  readonly #queue = new WaitQueue<number>();

  constructor(max: number) {
    this.#max = max;
  }

  get used(): number {
    return this.#used;
  }

  /** Resolves with the function that gives the bytes back; rejects with the signal's reason if it aborts first. */
  reserve(bytes: number, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    const turn = this.#queue.wait(signal, () => this.#pump(), bytes);
    this.#pump();
    return turn.then((granted) => {
      if (!granted) throw signal.reason;
      return once(() => this.#release(bytes));
    });
  }

  #release(bytes: number): void {
    this.#used -= bytes;
    this.#pump();
  }

  /** In order: the first waiter goes when it fits, or when nothing else is in flight. */
  #pump(): void {
    for (let bytes = this.#queue.first; bytes !== undefined; bytes = this.#queue.first) {
      if (this.#used > 0 && this.#used + bytes > this.#max) return;
      // Counted at the grant, before the next waiter is weighed against the budget.
      this.#used += bytes;
      this.#queue.grant();
    }
  }
}

function once(release: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    release();
  };
}
