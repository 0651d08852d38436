/**
 * `maxBytesInFlight`: the bytes all transfers of a downloader may be fetching at once, each
 * counted by its announced size as soon as its response headers are in, so that a run of
 * multi-GiB files cannot fill a disk with part files. Granted in arrival order; a transfer that
 * would pass the budget waits until others finish, and one alone always runs, however large.
 */
export class BytesInFlight {
  readonly #max: number;
  #used = 0;
  readonly #waiting: Array<{ readonly bytes: number; readonly grant: () => void }> = [];

  constructor(max: number) {
    this.#max = max;
  }

  get used(): number {
    return this.#used;
  }

  /** Resolves with the function that gives the bytes back; rejects with the signal's reason if it aborts first. */
  reserve(bytes: number, signal: AbortSignal): Promise<() => void> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal.removeEventListener('abort', onAbort);
        this.#used += bytes;
        resolve(once(() => this.#release(bytes)));
      };
      const entry = { bytes, grant };
      const onAbort = () => {
        const i = this.#waiting.indexOf(entry);
        if (i !== -1) this.#waiting.splice(i, 1);
        reject(signal.reason);
        this.#pump();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(entry);
      this.#pump();
    });
  }

  #release(bytes: number): void {
    this.#used -= bytes;
    this.#pump();
  }

  /** In order: the first waiter goes when it fits, or when nothing else is in flight. */
  #pump(): void {
    for (let next = this.#waiting[0]; next !== undefined; next = this.#waiting[0]) {
      if (this.#used > 0 && this.#used + next.bytes > this.#max) return;
      this.#waiting.shift();
      next.grant();
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
