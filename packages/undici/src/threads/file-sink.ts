import { closeSync } from 'node:fs';
import { ChunkWritable, PartWriter, type SpeedLimiter, openPartFileSync } from '@nectar/core/backend';

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
export class FileSink extends ChunkWritable {
  readonly #options: FileSinkOptions;
  #fd: number | null;
  readonly #writer: PartWriter;
  #full: () => void = () => {};
  /** Resolves once `limit` bytes are written. */
  readonly full: Promise<void>;

  constructor(options: FileSinkOptions) {
    super();
    this.#options = options;
    this.full = new Promise((resolve) => {
      this.#full = resolve;
    });
    this.#fd = openPartFileSync(options.path, options.destination);
    const { position, limit, destination } = options;
    this.#writer = new PartWriter({ fd: this.#fd, destination, position, ...(limit === undefined ? {} : { limit }) });
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#close();
    callback(error);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#close();
    callback();
  }

  protected put(chunks: readonly Uint8Array[], bytes: number): void | Promise<void> {
    const { limiter, signal } = this.#options;
    if (limiter === null) return this.#write(chunks, bytes);
    return limiter.take(bytes, signal).then(() => this.#write(chunks, bytes));
  }

  /** Writes `chunks` at the current position. */
  #write(chunks: readonly Uint8Array[], bytes: number): void {
    if (this.#fd === null) throw new Error('the transfer ended before this chunk was written');
    const written = this.#writer.write(chunks, bytes);
    if (written > 0) this.#options.onBytes(written);
    if (this.#writer.full) this.#full();
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
