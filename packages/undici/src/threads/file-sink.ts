import { closeSync, writeSync, writevSync } from 'node:fs';
import { Writable } from 'node:stream';
import { NectarError, type SpeedLimiter, openPartFileSync, toNectarError } from '@nectar/core/backend';

export interface FileSinkOptions {
  /** The part file core opened; it exists, so it is opened for writing without truncation. */
  readonly path: string;
  /** For messages: the file the part becomes. */
  readonly destination: string;
  /** Where the body starts in the file: the resume offset, or 0. */
  readonly position: number;
  readonly limiter: SpeedLimiter | null;
  readonly signal: AbortSignal;
  /** Write no more than this many bytes (the first segment of a split file); later bytes are dropped. */
  readonly limit?: number;
  /** Bytes that reached the file. */
  onBytes(bytes: number): void;
}

/**
 * A worker's writer of the part file, at explicit positions. Writes are synchronous on purpose:
 * into the page cache they take microseconds, while an async write queues on libuv's thread
 * pool, which every worker of the process shares (four threads by default) and which would
 * cost two thread hops per chunk.
 */
export class FileSink extends Writable {
  readonly #options: FileSinkOptions;
  #fd: number | null;
  #position: number;
  #room: number;
  #full: () => void = () => {};
  /** Resolves once `limit` bytes are written. */
  readonly full: Promise<void>;

  constructor(options: FileSinkOptions) {
    // A large buffer lets _writev batch socket chunks while the speed limit makes a write wait.
    super({ highWaterMark: 256 * 1024 });
    this.#options = options;
    this.#position = options.position;
    this.#room = options.limit ?? Number.POSITIVE_INFINITY;
    this.full = new Promise((resolve) => {
      this.#full = resolve;
    });
    this.#fd = openPartFileSync(options.path, options.destination);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#put([chunk], chunk.byteLength, callback);
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let bytes = 0;
    const chunks = entries.map((e) => {
      bytes += e.chunk.byteLength;
      return e.chunk;
    });
    this.#put(chunks, bytes, callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#close();
    callback(error);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close();
    callback();
  }

  #put(chunks: Buffer[], bytes: number, callback: (error?: Error | null) => void): void {
    const { limiter, signal } = this.#options;
    if (limiter === null) {
      callback(this.#write(chunks, bytes));
      return;
    }
    limiter.take(bytes, signal).then(() => callback(this.#write(chunks, bytes)), callback);
  }

  /** Writes every byte of `chunks` at the current position; returns the failure instead of throwing. */
  #write(all: Buffer[], allBytes: number): Error | null {
    if (this.#fd === null) return new Error('the transfer ended before this chunk was written');
    const { chunks, bytes } = allBytes <= this.#room ? { chunks: all, bytes: allBytes } : fit(all, this.#room);
    if (bytes === 0) return null;
    try {
      let written = chunks.length === 1 ? writeSync(this.#fd, chunks[0]!, 0, bytes, this.#position) : writevSync(this.#fd, chunks, this.#position);
      // A regular file takes everything at once in practice; a short write continues byte-exact.
      while (written < bytes) written += writeSync(this.#fd, Buffer.concat(chunks).subarray(written), 0, bytes - written, this.#position + written);
      this.#position += bytes;
      this.#room -= bytes;
      this.#options.onBytes(bytes);
      if (this.#room === 0) this.#full();
      return null;
    } catch (error) {
      return writeError(this.#options.destination, error);
    }
  }

  #close(): void {
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    try {
      closeSync(fd);
    } catch {
      // Nothing was buffered: a failing close loses no byte that a write did not report.
    }
  }
}

/** The first `room` bytes of `chunks`. */
function fit(chunks: Buffer[], room: number): { chunks: Buffer[]; bytes: number } {
  const kept: Buffer[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    if (bytes === room) break;
    const part = chunk.subarray(0, room - bytes);
    kept.push(part);
    bytes += part.byteLength;
  }
  return { chunks: kept, bytes };
}

/** The error core's own writer raises for the destination, so both modes report alike. */
function writeError(destination: string, error: unknown): NectarError {
  const cause = toNectarError(error);
  return new NectarError('NECTAR_DESTINATION', `cannot write to ${destination}: ${cause.message}`, {
    cause: error,
    details: { destination, errno: cause.details.errno },
  });
}
