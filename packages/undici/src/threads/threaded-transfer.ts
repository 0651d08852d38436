import { type NectarError, type TransferJob, toNectarError } from '@nectar/core/backend';
import { type ByteRange, type FromWorker, type SegmentPlan, type StartMessage, type ToWorker, deserializeError } from './messages.js';

/**
 * After asking a worker to abort, how long to wait for its word that the part file is closed.
 * It normally answers within a millisecond; a worker that does not is stuck or dying, and the
 * pool's exit handler covers it.
 */
const abortGrace = 1000;

/**
 * What one threaded transfer fetches: the file (which its worker may offer to split into `split`
 * segments), or one range of a split file from the URL the first request ended at.
 */
export type Segment =
  | { readonly kind: 'whole'; readonly split: number; onSplit(plan: SegmentPlan): void }
  | { readonly kind: 'range'; readonly range: ByteRange; readonly url: string };

const unsplit: Segment = { kind: 'whole', split: 1, onSplit: () => {} };

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
  readonly #segment: Segment;
  #responded: Promise<void> = Promise.resolve();
  #failure: Error | null = null;
  #settled = false;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #graceTimer: NodeJS.Timeout | undefined;
  readonly #onAbort = () => this.#fail(this.#job.signal.reason instanceof Error ? this.#job.signal.reason : new Error('aborted'));

  constructor(id: number, job: TransferJob, post: (message: ToWorker) => void, segment: Segment = unsplit) {
    this.id = id;
    this.#job = job;
    this.#post = post;
    this.#segment = segment;
    this.result = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }

  start(): void {
    const job = this.#job;
    job.signal.throwIfAborted();
    job.signal.addEventListener('abort', this.#onAbort, { once: true });
    this.#post(startMessage(this.id, job, this.#segment));
  }

  handle(message: FromWorker): void {
    if (message.type === 'responded') {
      this.#respond(message.response, message.wait);
      if (message.split !== null && this.#segment.kind === 'whole') this.#segment.onSplit(message.split);
    }
    else if (message.type === 'progress') this.#progressed(message.bytes);
    else if (message.type === 'chunk') this.#write(message.data);
    else {
      // The last bytes ride with the final message.
      this.#progressed(message.bytes);
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
        if (wait && this.#failure === null) this.#post({ type: 'proceed', id: this.id });
      },
      (error: unknown) => this.#fail(toNectarError(error)),
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

  /** A chunk for a stream destination: core's sink writes it; its callback gives the credit back. */
  #write(data: ArrayBuffer): void {
    this.#job.sink.write(Buffer.from(data), (error) => {
      if (error) this.#fail(error);
      else if (this.#failure === null) this.#post({ type: 'credit', id: this.id });
    });
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

function startMessage(id: number, job: TransferJob, segment: Segment): StartMessage {
  const { tempPath, limiter } = job;
  return {
    type: 'start',
    id,
    url: segment.kind === 'range' ? segment.url : job.url.href,
    headers: job.headers,
    offset: job.offset,
    validator: job.validator,
    target: tempPath === null ? { kind: 'stream' } : { kind: 'file', path: tempPath, destination: String(job.request.destination) },
    split: segment.kind === 'whole' ? segment.split : 1,
    range: segment.kind === 'range' ? segment.range : null,
    // For a stream destination core's sink applies the limit on this thread.
    limiter: tempPath === null || limiter === null ? null : { state: limiter.state, bytesPerSecond: limiter.bytesPerSecond },
  };
}
