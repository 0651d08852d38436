import { closeSync } from 'node:fs';
import { Writable } from 'node:stream';
import { PartWriter, type SpeedLimiter, openPartFileSync } from '@nectar/core/backend';

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
 * A worker's stream over core's positioned writer of the part file (synchronous writes, a limit
 * for the first segment of a split file), with the shared speed limit before each write.
 */
export class FileSink extends Writable {
  readonly #options: FileSinkOptions;
  #fd: number | null;
  readonly #writer: PartWriter;
  #full: () => void = () => {};
  /** Resolves once `limit` bytes are written. */
  readonly full: Promise<void>;

  constructor(options: FileSinkOptions) {
    // A large buffer lets _writev batch socket chunks while the speed limit makes a write wait.
    super({ highWaterMark: 256 * 1024 });
    this.#options = options;
    this.full = new Promise((resolve) => {
      this.#full = resolve;
    });
    this.#fd = openPartFileSync(options.path, options.destination);
    const { position, limit, destination } = options;
    this.#writer = new PartWriter({ fd: this.#fd, destination, position, ...(limit === undefined ? {} : { limit }) });
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

  /** Writes `chunks` at the current position; returns the failure instead of throwing. */
  #write(chunks: Buffer[], bytes: number): Error | null {
    if (this.#fd === null) return new Error('the transfer ended before this chunk was written');
    try {
      const written = this.#writer.write(chunks, bytes);
      if (written > 0) this.#options.onBytes(written);
      if (this.#writer.full) this.#full();
      return null;
    } catch (error) {
      return error as Error;
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
