import type { JobProgressData, WireProgress } from './job-data.js';

/**
 * Forwards a job's progress to Redis at a bounded rate: the first change goes at once (so the
 * producer sees a request start promptly), later ones at most every `intervalMs`.
 */
export class ProgressForwarder {
  readonly #send: (progress: JobProgressData) => Promise<void>;
  readonly #intervalMs: number;
  readonly #state: JobProgressData;
  #last = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> = Promise.resolve();

  constructor(worker: string, count: number, intervalMs: number, send: (progress: JobProgressData) => Promise<void>) {
    this.#send = send;
    this.#intervalMs = intervalMs;
    const waiting: WireProgress = { state: 'waiting', bytesDownloaded: 0, totalBytes: null, startTime: null, attempts: 0 };
    this.#state = { worker, requests: Array.from({ length: count }, () => ({ ...waiting })) };
  }

  update(index: number, progress: WireProgress): void {
    this.#state.requests[index] = progress;
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - Date.now());
    this.#timer = setTimeout(() => this.#flush(), wait);
  }

  /** Stops forwarding; waits for an update already on its way. */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#sending;
  }

  #flush(): void {
    this.#timer = undefined;
    this.#last = Date.now();
    const snapshot = structuredClone(this.#state);
    // Progress is advisory: a lost update (Redis restarting) must not fail the job.
    this.#sending = this.#sending.then(() => this.#send(snapshot).catch(() => {}));
  }
}
