import { createHash, type Hash } from 'node:crypto';
import { closeSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { Backend } from '../engine/backend.js';
import type { BodyOutput, TransferJob, TransferResponse } from '../engine/job.js';
import { toNectarError } from '../errors.js';
import type { ProxySettings } from '../http/proxy.js';
import { type AttemptBudgets, SharedAttemptBudgets, attemptThrottle } from '../limits/attempt-budgets.js';
import type { ByteThrottle } from '../limits/byte-throttle.js';
import { openPartFileSync } from '../output/destination.js';
import { PartWriter, fit } from '../output/part-writer.js';
import { TransferSink } from '../output/sink.js';
import type { DownloadRequest } from '../request.js';
import { ChunkSender } from './chunk-sender.js';
import type { FromWorker, StartMessage, WorkerSetup } from './messages.js';
import { type SerializedError, deserializeError, serializeError } from './messages.js';
import { ProgressBatch } from './progress-batch.js';

export type Post = (message: FromWorker, transfer?: ArrayBuffer[]) => void;

/** A stream destination's attempt: the main thread's body applies the budgets. */
const unlimited: AttemptBudgets = { downloader: null, request: null, host: () => null };

/** What a transfer in a worker needs from the thread it runs in. */
export interface WorkerContext {
  readonly setup: WorkerSetup;
  readonly backend: Backend;
  readonly proxy: ProxySettings | null;
  readonly post: Post;
}

/**
 * One attempt run in a worker thread: the backend's own `transfer()` with a job whose body goes
 * straight into the part file (positioned, synchronous writes) or back to the main thread for a
 * stream destination. The main thread hears 'responded', batched 'progress', then exactly one
 * 'done' or 'failed'.
 */
export class WorkerTransfer {
  readonly #start: StartMessage;
  readonly #context: WorkerContext;
  readonly #abort = new AbortController();
  readonly #progress: ProgressBatch;
  #proceed: ((limit: number | null) => void) | null = null;
  #entering: ((error: SerializedError | null) => void) | null = null;
  #sender: ChunkSender | null = null;
  #file: FileBody | null = null;
  /** Set once a segment's last byte is written: the backend's abort that follows is a success. */
  #full = false;
  /** Hashes the body as it is written, when the main thread asked for the file's digest. */
  readonly #hash: Hash | null;
  /** The backend wrote the part file itself (`progressed`): the hash does not cover those bytes. */
  #wroteItself = false;
  /** The attempt's byte budgets, the same rule as on the main thread; null: the main thread throttles. */
  readonly #budgets: SharedAttemptBudgets | null;
  readonly #throttle: ByteThrottle;

  constructor(start: StartMessage, context: WorkerContext) {
    this.#start = start;
    this.#context = context;
    this.#budgets = start.budgets === null ? null : new SharedAttemptBudgets(start.budgets);
    this.#throttle = attemptThrottle(this.#budgets ?? unlimited);
    this.#progress = new ProgressBatch((bytes) => context.post({ type: 'progress', id: start.id, bytes }));
    this.#hash = start.hash === null ? null : createHash(start.hash);
  }

  async run(): Promise<void> {
    const { id } = this.#start;
    try {
      await this.#context.backend.transfer(this.#job());
      this.#context.post({ type: 'done', id, bytes: this.#progress.take(), digest: this.#digest() });
    } catch (error) {
      if (this.#full) this.#context.post({ type: 'done', id, bytes: this.#progress.take(), digest: null });
      // After an abort the main thread reports its own reason; this one is never read.
      else this.#context.post({ type: 'failed', id, bytes: this.#progress.take(), error: serializeError(toNectarError(error)) });
    } finally {
      this.#file?.close();
    }
  }

  /** The digest of the whole file, when asked for and every byte went through this body. */
  #digest(): string | null {
    if (this.#hash === null || this.#wroteItself) return null;
    return this.#hash.digest('hex');
  }

  /** The main thread's answer to a hop's `enter`, with the byte budget of the origin now reached. */
  entered(error: SerializedError | null, host: SharedArrayBuffer | null): void {
    this.#budgets?.moveTo(host);
    const waiting = this.#entering;
    this.#entering = null;
    waiting?.(error);
  }

  /** Waits for the main thread's per-origin limits before a redirect hop (one hop at a time). */
  #enter(url: URL): Promise<void> {
    const signal = this.#abort.signal;
    signal.throwIfAborted();
    this.#context.post({ type: 'enter', id: this.#start.id, url: url.href });
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#entering = (error) => {
        signal.removeEventListener('abort', onAbort);
        if (error === null) resolve();
        else reject(deserializeError(error));
      };
    });
  }

  proceed(limit: number | null): void {
    this.#proceed?.(limit);
  }

  abort(): void {
    this.#abort.abort(new Error('aborted by the main thread'));
  }

  credit(): void {
    this.#sender?.credit();
  }

  #job(): TransferJob {
    const start = this.#start;
    const { setup, proxy } = this.#context;
    const signal = this.#abort.signal;
    const budgets = this.#budgets ?? unlimited;
    const tempPath = start.target.kind === 'file' ? start.target.path : null;
    let sink: Writable | null = null;
    const body: BodyOutput = { write: (chunks, bytes) => this.#body().write(chunks, bytes) };
    return {
      request: workerRequest(start),
      url: new URL(start.url),
      config: setup.config,
      headers: start.headers,
      credentials: start.credentials,
      tls: setup.tls,
      proxy,
      signal,
      attempt: start.attempt,
      offset: start.offset,
      validator: start.validator,
      range: start.range,
      body,
      get sink() {
        sink ??= new TransferSink(body);
        return sink;
      },
      tempPath,
      responded: (response) => this.#respond(response),
      progressed: (bytes) => {
        this.#wroteItself = true;
        this.#progress.add(bytes);
      },
      partReplaced: (identity) => this.#context.post({ type: 'replaced', id: start.id, identity: { dev: identity.dev, ino: identity.ino } }),
      throttle: (bytes) => this.#throttle.take(bytes, signal) ?? Promise.resolve(),
      limiter: budgets.downloader,
      budgets,
      // The main thread took the attempt's slot and first rate token; a redirect hop asks it for its own.
      hosts: { enter: (url) => this.#enter(url) },
    };
  }

  /**
   * Tells the main thread, and waits for its word where core may act on the file first: a resume
   * the server ignored makes core empty the part file, a large file may be split, and a stream
   * destination is written there. A fresh file needs no wait (core only reads the response),
   * which saves a round trip per file.
   */
  async #respond(response: TransferResponse): Promise<void> {
    const start = this.#start;
    const wait = start.mayWait || start.target.kind === 'stream';
    this.#context.post({ type: 'responded', id: start.id, response, wait });
    const resumed = start.range !== null || (start.offset > 0 && response.resumed === true);
    const position = start.range?.start ?? (resumed ? start.offset : 0);
    if (!wait) return this.#open(position, null);
    const signal = this.#abort.signal;
    signal.throwIfAborted();
    const limit = await new Promise<number | null>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#proceed = (granted) => {
        signal.removeEventListener('abort', onAbort);
        resolve(granted);
      };
    });
    this.#open(position, limit);
  }

  #open(position: number, limit: number | null): void {
    const { target, id } = this.#start;
    if (target.kind === 'stream') {
      this.#sender = new ChunkSender((data) => this.#context.post({ type: 'chunk', id, data }, [data]), this.#abort.signal);
      return;
    }
    this.#file = new FileBody({
      path: target.path,
      destination: target.destination,
      position,
      limit,
      throttle: this.#throttle,
      signal: this.#abort.signal,
      onBytes: (chunks, bytes) => {
        if (this.#hash !== null) for (const chunk of chunks) this.#hash.update(chunk);
        this.#progress.add(bytes);
      },
      onFull: () => {
        // The first segment ends where the next begins: stop reading there.
        this.#full = true;
        this.#abort.abort(new Error('the segment is complete'));
      },
    });
  }

  #body(): BodyOutput {
    const body = this.#sender ?? this.#file;
    if (body === null) throw new Error('a backend wrote the body before it called job.responded()');
    return body;
  }
}

interface FileBodyOptions {
  readonly path: string;
  readonly destination: string;
  readonly position: number;
  readonly limit: number | null;
  readonly throttle: ByteThrottle;
  readonly signal: AbortSignal;
  /** The chunks (cut at the limit) that reached the file. */
  onBytes(chunks: readonly Uint8Array[], bytes: number): void;
  onFull(): void;
}

/** The part file, opened in this thread: core's positioned writer, each write after the attempt's byte budgets allow it. */
class FileBody implements BodyOutput {
  readonly #options: FileBodyOptions;
  #fd: number | null;
  readonly #writer: PartWriter;

  constructor(options: FileBodyOptions) {
    this.#options = options;
    this.#fd = openPartFileSync(options.path, options.destination);
    const { destination, position, limit } = options;
    this.#writer = new PartWriter({ fd: this.#fd, destination, position, ...(limit === null ? {} : { limit }) });
  }

  write(chunks: readonly Uint8Array[], bytes: number): void | Promise<void> {
    const { throttle, signal } = this.#options;
    signal.throwIfAborted();
    const waiting = throttle.take(bytes, signal);
    if (waiting === undefined) return this.#put(chunks, bytes);
    return waiting.then(() => this.#put(chunks, bytes));
  }

  close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      closeSync(fd);
    } catch {
      // Nothing was buffered: a failing close loses no byte that a write did not report.
    }
  }

  #put(chunks: readonly Uint8Array[], bytes: number): void {
    if (this.#fd === null) throw new Error('the transfer ended before this chunk was written');
    const written = this.#writer.write(chunks, bytes);
    if (written > 0) this.#options.onBytes(written === bytes ? chunks : fit(chunks, written).chunks, written);
    if (this.#writer.full) this.#options.onFull();
  }
}

/**
 * The request as a worker's backend sees it. A stream destination stays on the main thread: here
 * it is a Writable that refuses writes, so a backend that wrote to it directly fails loudly.
 */
function workerRequest(start: StartMessage): DownloadRequest {
  const destination = start.target.kind === 'file' ? start.target.destination : new Writable({ write: (_chunk, _encoding, callback) => callback(new Error('write the body to job.body: the caller\'s stream is on the main thread')) });
  return { ...start.request, destination } as DownloadRequest;
}
