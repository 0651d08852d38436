/** Bytes, or milliseconds, after which a worker tells the main thread about bytes written. */
const batchBytes = 1024 * 1024;
const batchMs = 50;

/**
 * Counts the bytes a worker wrote and reports them in batches: one message per MiB or per 50 ms,
 * which keeps a fast transfer at about a thousand messages a second and a slow one's progress
 * bar moving. core throttles the events themselves (progressInterval).
 */
export class ProgressBatch {
  readonly #report: (bytes: number) => void;
  #unreported = 0;
  /**
   * When bytes were last reported; null before the first. The first bytes start the clock rather
   * than leave at once: a small file's bytes then ride with its final message (a transfer's
   * set-up, a worker's start, would otherwise count as time waited).
   */
  #lastReport: number | null = null;

  constructor(report: (bytes: number) => void) {
    this.#report = report;
  }

  add(bytes: number): void {
    this.#unreported += bytes;
    const now = performance.now();
    this.#lastReport ??= now;
    if (this.#unreported < batchBytes && now - this.#lastReport < batchMs) return;
    this.#report(this.take());
  }

  /** The bytes not yet reported, for the transfer's final message. */
  take(): number {
    const bytes = this.#unreported;
    this.#unreported = 0;
    this.#lastReport = performance.now();
    return bytes;
  }
}
