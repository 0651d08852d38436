import { Writable } from 'node:stream';
import type { BodyOutput } from '../engine/job.js';
import type { DestinationWriter } from './destination.js';
import { byteLength, fit } from './part-writer.js';
import type { ByteThrottle } from '../limits/byte-throttle.js';
import type { ThroughputFloor } from '../limits/throughput-floor.js';

export interface BodyWriterOptions {
  writer: Pick<DestinationWriter, 'write'>;
  limiter: ByteThrottle | null;
  signal: AbortSignal;
  /** Paused while the writer waits on us (the speed limit, a caller's stream), not on the server. */
  floor?: ThroughputFloor | null;
  /** Called after bytes reached the destination; may throw to fail the transfer (size limit). */
  onBytes(chunks: readonly Uint8Array[], bytes: number): void;
}

/**
 * Where one attempt's body goes, chunk by chunk: it applies the shared speed limit, writes to the
 * destination and counts (and hashes) what was written. A file destination is written at once,
 * synchronously, and `write()` returns nothing; a promise comes back only when the caller must
 * wait before the next chunk (the speed limit, a caller's stream that is full).
 */
export class BodyWriter {
  readonly #options: BodyWriterOptions;
  #pending: Promise<void> | null = null;
  #closed = false;
  /** Bytes still taken when capped (the first segment of a split file); then `onFull`. */
  #room = Number.POSITIVE_INFINITY;
  #onFull: () => void = () => {};

  constructor(options: BodyWriterOptions) {
    this.#options = options;
  }

  /** Takes no more than `limit` bytes in all; calls `onFull` once they are written. Later bytes are dropped. */
  limitTo(limit: number, onFull: () => void): void {
    this.#room = limit;
    this.#onFull = onFull;
  }

  /** Writes `chunks`; never call again before a returned promise settles. Throws (or rejects) on failure. */
  write(chunks: readonly Uint8Array[], bytes = byteLength(chunks)): void | Promise<void> {
    if (this.#room === Number.POSITIVE_INFINITY) return this.#write(chunks, bytes);
    if (this.#room === 0) return;
    const kept = bytes <= this.#room ? { chunks, bytes } : fit(chunks, this.#room);
    this.#room -= kept.bytes;
    const written = this.#write(kept.chunks, kept.bytes);
    if (this.#room > 0) return written;
    if (written === undefined) return this.#onFull();
    return written.then(() => this.#onFull());
  }

  #write(chunks: readonly Uint8Array[], bytes: number): void | Promise<void> {
    const { writer, limiter, signal, onBytes } = this.#options;
    this.#check(signal);
    const wait = limiter?.take(bytes, signal);
    if (wait !== undefined) return this.#track(this.#throttled(wait, chunks, bytes));
    const written = writer.write(chunks, signal);
    if (written === undefined) return onBytes(chunks, bytes);
    return this.#track(this.#waited(written, () => onBytes(chunks, bytes)));
  }

  /** Refuses every later write: the attempt is over. */
  close(): void {
    this.#closed = true;
  }

  /**
   * Resolves once no write is under way. A write that began before the attempt ended still
   * lands on disk; the next attempt must wait for it before it decides where to resume.
   */
  settled(): Promise<void> {
    return this.#pending ?? Promise.resolve();
  }

  #check(signal: AbortSignal): void {
    signal.throwIfAborted();
    if (this.#closed) throw new Error('the transfer ended before this chunk was written');
  }

  #track(put: Promise<void>): Promise<void> {
    const settled = put.then(
      () => {},
      () => {},
    );
    this.#pending = settled;
    void settled.then(() => {
      if (this.#pending === settled) this.#pending = null;
    });
    return put;
  }

  async #throttled(wait: Promise<void>, chunks: readonly Uint8Array[], bytes: number): Promise<void> {
    const { writer, signal, onBytes } = this.#options;
    await this.#waited(wait);
    // Waiting for the limiter may have outlived the attempt.
    this.#check(signal);
    const written = writer.write(chunks, signal);
    if (written !== undefined) await this.#waited(written);
    onBytes(chunks, bytes);
  }

  /** A wait on us, not on the server: the throughput floor does not count it. */
  async #waited(wait: Promise<void> | undefined, then?: () => void): Promise<void> {
    const { floor } = this.#options;
    floor?.hold();
    try {
      await wait;
    } finally {
      floor?.release();
    }
    then?.();
  }
}

/**
 * A Writable that hands what it is given to `put()`, several chunks at once when they queued up
 * (one writev() system call for many socket reads); `put()` returns a promise only when the
 * next chunks must wait.
 */
export abstract class ChunkWritable extends Writable {
  constructor() {
    // A large buffer lets _writev batch socket chunks while a write waits (the speed limit).
    super({ highWaterMark: 256 * 1024 });
  }

  protected abstract put(chunks: readonly Uint8Array[], bytes: number): void | Promise<void>;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#run([chunk], chunk.byteLength, callback);
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let bytes = 0;
    const chunks = entries.map((e) => {
      bytes += e.chunk.byteLength;
      return e.chunk;
    });
    this.#run(chunks, bytes, callback);
  }

  #run(chunks: readonly Uint8Array[], bytes: number, callback: (error?: Error | null) => void): void {
    let written: void | Promise<void>;
    try {
      written = this.put(chunks, bytes);
    } catch (error) {
      callback(error as Error);
      return;
    }
    if (written === undefined) callback();
    else written.then(() => callback(), callback);
  }
}

/** The writable a backend may pipe a body into (`job.sink`), over the job's body, in any thread. Ending it never ends a caller's stream. */
export class TransferSink extends ChunkWritable {
  readonly #body: BodyOutput;

  constructor(body: BodyOutput) {
    super();
    this.#body = body;
    // The error also reaches whoever awaits the sink (pipeline, finished); without a listener a
    // sink destroyed before the backend piped into it would crash the process.
    this.on('error', () => {});
  }

  protected put(chunks: readonly Uint8Array[], bytes: number): void | Promise<void> {
    return this.#body.write(chunks, bytes);
  }
}
