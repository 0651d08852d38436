import type { TransferJob } from '../engine/job.js';
import { segmentLimit, splittable } from '../engine/segments.js';
import { digestWritten } from '../engine/written-digest.js';
import { type NectarError, toNectarError } from '../errors.js';
import { shareBudgets } from '../limits/attempt-budgets.js';
import { type FromWorker, type StartMessage, type ToWorker, deserializeError, serializeError } from './messages.js';

/**
 * After asking a worker to abort, how long to wait for its word that the part file is closed.
 * It normally answers within a millisecond; a worker that does not is stuck or dying, and the
 * pool's exit handler covers it.
 */
const abortGrace = 1000;

/**
 * The main thread's side of one attempt run in a worker: it turns the worker's messages into
 * core's hooks (`responded`, `progressed`, writes into the sink) and the job's signal into an
 * abort message. `result` settles once the worker has let go of the part file.
 */
export class ThreadedTransfer {
  readonly id: number;
  readonly result: Promise<void>;
  readonly #job: TransferJob;
  readonly #post: (message: ToWorker) => void;
  /** Chunks for a stream destination, written one after the other. */
  #writes: Promise<void> = Promise.resolve();
  #responded: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  #settled = false;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #graceTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.#fail(this.#job.signal.reason instanceof Error ? this.#job.signal.reason : new Error('aborted'));

  constructor(id: number, job: TransferJob, post: (message: ToWorker) => void) {
    this.id = id;
    this.#job = job;
    this.#post = post;
    this.result = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  start(): void {
    const job = this.#job;
    job.signal.throwIfAborted();
    job.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#post(startMessage(this.id, job));
  }

  handle(message: FromWorker): void {
    if (message.type === 'responded') this.#respond(message.response, message.wait);
    else if (message.type === 'replaced') this.#job.partReplaced(message.identity);
    else if (message.type === 'enter') this.#enter(message.url);
    else if (message.type === 'progress') this.#progressed(message.bytes);
    else if (message.type === 'chunk') this.#write(message.data);
    else {
      // The last bytes ride with the final message.
      this.#progressed(message.bytes);
      if (message.type === 'done' && message.digest !== null) digestWritten(this.#job, message.digest);
      void this.#finish(message.type === 'done' ? null : deserializeError(message.error));
    }
  }

  /** The worker died: nothing more will come from it. */
  lost(error: NectarError): void {
    this.#failure ??= error;
    void this.#finish(error);
  }

  #respond(response: Parameters<TransferJob['responded']>[0], wait: boolean): void {
    this.#responded = this.#job.responded(response);
    this.#responded.then(
      () => {
        if (wait && this.#failure === null) this.#post({ type: 'proceed', id: this.id, limit: segmentLimit(this.#job) });
      },
      (error: unknown) => this.#fail(toNectarError(error)),
    );
  }

  /**
   * A redirect hop in the worker takes its origin's slot and rate token here, where the limits
   * live; the worker then throttles by that origin's byte budget.
   */
  #enter(url: string): void {
    this.#job.hosts.enter(new URL(url)).then(
      () => this.#post({ type: 'entered', id: this.id, error: null, host: this.#job.budgets.host()?.state ?? null }),
      (error: unknown) => this.#post({ type: 'entered', id: this.id, error: serializeError(toNectarError(error)), host: null }),
    );
  }

  #progressed(bytes: number): void {
    if (bytes === 0) return;
    try {
      this.#job.progressed(bytes);
    } catch (error) {
      // maxFileSize: the bytes are counted, the worker stops.
      this.#fail(toNectarError(error));
    }
  }

  /** A chunk for a stream destination: core's body writes it, then the worker gets its credit back. */
  #write(data: ArrayBuffer): void {
    this.#writes = this.#writes
      .then(() => this.#job.body.write([new Uint8Array(data)], data.byteLength))
      .then(
        () => {
          if (this.#failure === null) this.#post({ type: 'credit', id: this.id });
        },
        (error: unknown) => this.#fail(toNectarError(error)),
      );
  }

  /** Stops the worker's side; the attempt rejects with `error` once the worker confirms. */
  #fail(error: Error): void {
    if (this.#failure !== null || this.#settled) return;
    this.#failure = error;
    this.#post({ type: 'abort', id: this.id });
    this.#graceTimer = setTimeout(() => void this.#finish(error), abortGrace);
  }

  async #finish(workerError: Error | null): Promise<void> {
    if (this.#settled) return;
    this.#settled = true;
    clearTimeout(this.#graceTimer);
    this.#job.signal.removeEventListener('abort', this.#onAbort);
    // Chunks of a stream destination still being written belong to this attempt (a cancel
    // rejects a write that waits on a full stream, which ends the chain).
    if (workerError === null) await this.#writes;
    let refused: Error | null = null;
    try {
      await this.#responded;
    } catch (error) {
      // core refused the response (maxFileSize, expectedSize): that is the failure to report.
      refused = toNectarError(error);
    }
    const error = this.#failure ?? refused ?? workerError;
    if (error === null) this.#resolve();
    else this.#reject(error);
  }
}

function startMessage(id: number, job: TransferJob): StartMessage {
  const { tempPath, request } = job;
  const { url, mirrors, headers, expectedSize, expectedDigest } = request;
  return {
    type: 'start',
    id,
    request: { url, mirrors, headers, expectedSize, expectedDigest },
    url: job.url.href,
    headers: job.headers,
    credentials: job.credentials,
    attempt: job.attempt,
    offset: job.offset,
    validator: job.validator,
    range: job.range,
    target: tempPath === null ? { kind: 'stream' } : { kind: 'file', path: tempPath, destination: String(request.destination) },
    // A segment waits too: core checks its answer before a byte of it is written.
    mayWait: job.offset > 0 || splittable(job),
    // A resume would need the digest of the bytes already there, and segments come out of order.
    hash: request.expectedDigest !== undefined && tempPath !== null && job.offset === 0 && job.range === null && !splittable(job) ? request.expectedDigest.algorithm : null,
    // For a stream destination core's body applies the limits on this thread.
    budgets: tempPath === null ? null : shareBudgets(job.budgets),
  };
}
