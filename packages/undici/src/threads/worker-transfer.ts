import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { NectarError, redactUrl, type ResolvedConfig, type SpeedLimiter, type TransferResponse, toNectarError } from '@nectar/core/backend';
import { type FailureContext, failureContext, headerValue, parseContentRange } from '@nectar/core/http';
import type { Dispatcher } from 'undici';
import { ChunkSender } from './chunk-sender.js';
import { transferError } from '../http/errors.js';
import { FileSink } from './file-sink.js';
import { type Exchange, type Response, readAnswer, requestFinal } from '../http/exchange.js';
import { ProgressBatch } from './progress-batch.js';
import { firstSegmentEnd, planSegments } from './segment-plan.js';
import { type ByteRange, type FromWorker, type SegmentPlan, type SerializedError, type StartMessage, type WorkerSetup, serializeError } from './messages.js';

export type Post = (message: FromWorker, transfer?: ArrayBuffer[]) => void;

/** What a transfer in a worker needs from the thread it runs in. */
export interface WorkerContext {
  readonly setup: WorkerSetup;
  readonly dispatcher: Dispatcher;
  readonly post: Post;
  limiter(start: StartMessage): SpeedLimiter | null;
}

/**
 * One attempt run in a worker thread: the same HTTP exchange as in-process, then the body is
 * written to the part file here (or sent back for a stream destination). The main thread hears
 * 'responded', batched 'progress', then exactly one 'done' or 'failed'.
 */
export class WorkerTransfer {
  readonly #start: StartMessage;
  readonly #context: WorkerContext;
  readonly #abort = new AbortController();
  readonly #progress: ProgressBatch;
  #proceed: (() => void) | null = null;
  #sender: ChunkSender | null = null;

  constructor(start: StartMessage, context: WorkerContext) {
    this.#start = start;
    this.#context = context;
    this.#progress = new ProgressBatch((bytes) => context.post({ type: 'progress', id: start.id, bytes }));
  }

  async run(): Promise<void> {
    const { id } = this.#start;
    const exchange = this.#exchange();
    const failure = failureContext(exchange);
    try {
      const { response, url } = await requestFinal(this.#context.dispatcher, exchange, failure);
      const { range } = this.#start;
      if (range === null) await this.#receive(exchange, response, url);
      else await this.#receiveRange(exchange, response, url, range);
      this.#context.post({ type: 'done', id, bytes: this.#progress.take() });
    } catch (error) {
      this.#context.post({ type: 'failed', id, bytes: this.#progress.take(), error: this.#describe(error, failure) });
    }
  }

  proceed(): void {
    this.#proceed?.();
  }

  abort(): void {
    this.#abort.abort(new Error('aborted by the main thread'));
  }

  credit(): void {
    this.#sender?.credit();
  }

  #exchange(): Exchange {
    const { setup } = this.#context;
    const proxy = setup.proxy === null ? null : { ...setup.proxy, url: new URL(setup.proxy.url) };
    const { url, offset, validator, range } = this.#start;
    // A segment asks for its range of the version the first request saw, or nothing (If-Range).
    const headers = range === null ? this.#start.headers : { ...this.#start.headers, range: `bytes=${range.start}-${range.end - 1}`, 'if-range': validator ?? '' };
    return {
      url: new URL(url),
      headers,
      config: setup.config as ResolvedConfig,
      offset: range === null ? offset : 0,
      validator: range === null ? validator : null,
      proxy,
      signal: this.#abort.signal,
    };
  }

  async #receive(exchange: Exchange, response: Response, url: URL): Promise<void> {
    try {
      const answer = await readAnswer(exchange, response, url);
      const split = answer.decoders === null ? null : planSegments(this.#start, answer.response, response.headers);
      // A split file is not contiguous until every segment is in: core must not resume it.
      await this.#respond(split === null ? answer.response : { ...answer.response, validator: null }, split);
      if (answer.decoders === null) return;
      const target = this.#target(answer.response, split);
      const written = pipeline([response.stream(), ...answer.decoders, target]);
      if (!(target instanceof FileSink) || split === null) return await written;
      // The first segment ends where the next begins: stop reading there.
      written.catch(() => {});
      await Promise.race([written, target.full]);
      response.drop();
      target.destroy();
    } catch (error) {
      // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
      response.drop();
      throw error;
    }
  }

  /** A later segment of a split file: exactly its range, written where it belongs. */
  async #receiveRange(exchange: Exchange, response: Response, url: URL, range: ByteRange): Promise<void> {
    try {
      const contentRange = headerValue(response.headers, 'content-range');
      if (response.statusCode !== 206 || parseContentRange(contentRange)?.start !== range.start) {
        // A refusal (5xx, 404) is reported as such; a whole body or another range as a segment failure.
        if (response.statusCode < 200 || response.statusCode >= 300) await readAnswer(exchange, response, url);
        await response.discard();
        throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} answered a request for bytes ${range.start}-${range.end - 1} with ${response.statusCode} ${contentRange ?? ''}`.trim(), {
          details: { url: redactUrl(url), status: response.statusCode, contentRange },
        });
      }
      await pipeline(response.stream(), this.#fileSink(range.start, null));
    } catch (error) {
      response.drop();
      throw error;
    }
  }

  /**
   * Tells the main thread, and waits for its word where core may act on the file first: a resume
   * the server ignored makes core empty the part file, and a stream destination is written there.
   * A fresh file needs no wait (core only reads the response), which saves a round trip per file.
   */
  async #respond(response: TransferResponse, split: SegmentPlan | null): Promise<void> {
    const wait = this.#start.offset > 0 || this.#start.target.kind === 'stream';
    this.#context.post({ type: 'responded', id: this.#start.id, response, wait, split });
    if (!wait) return;
    const signal = this.#abort.signal;
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#proceed = () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }

  #target(response: TransferResponse, split: SegmentPlan | null): Writable {
    const { target, id, offset } = this.#start;
    if (target.kind === 'stream') {
      this.#sender = new ChunkSender((data) => this.#context.post({ type: 'chunk', id, data }, [data]));
      return this.#sender;
    }
    // core emptied the part file when the server sent the whole file instead of the rest.
    return this.#fileSink(response.resumed === true ? offset : 0, split === null ? null : firstSegmentEnd(split));
  }

  #fileSink(position: number, limit: number | null): FileSink {
    const { target } = this.#start;
    if (target.kind !== 'file') throw new Error('a file sink for a stream destination');
    return new FileSink({
      path: target.path,
      destination: target.destination,
      position,
      ...(limit === null ? {} : { limit }),
      limiter: this.#context.limiter(this.#start),
      signal: this.#abort.signal,
      onBytes: (bytes) => this.#progress.add(bytes),
    });
  }

  #describe(error: unknown, failure: FailureContext): SerializedError {
    // After an abort the main thread reports its own reason; this one is never read.
    const nectar = this.#abort.signal.aborted ? toNectarError(error) : transferError(error, failure);
    return serializeError(nectar);
  }
}
