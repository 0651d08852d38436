/**
 * Bytes per second over a sliding window: an average since the start would hide a stall, and
 * the speed between two consecutive events jumps with every chunk.
 */
export class SpeedMeter {
  readonly #windowMs: number;
  readonly #samples: Array<{ at: number; bytes: number }> = [];

  constructor(windowMs = 3000) {
    this.#windowMs = windowMs;
  }

  /** Records the running total of bytes at `now`. */
  sample(bytes: number, now = Date.now()): void {
    this.#samples.push({ at: now, bytes });
    while (this.#samples.length > 2 && now - this.#samples[0]!.at > this.#windowMs) this.#samples.shift();
  }

  /** 0 until two samples exist. */
  get bytesPerSecond(): number {
    const first = this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    if (first === undefined || last === undefined || last.at <= first.at) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.at - first.at);
  }
}
