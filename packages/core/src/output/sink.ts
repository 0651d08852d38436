import { Writable } from 'node:stream';
import type { DestinationWriter } from './destination.js';
import type { SpeedLimiter } from '../limits/speed.js';
import type { ThroughputFloor } from '../limits/throughput-floor.js';

export interface SinkOptions {
  writer: DestinationWriter;
  limiter: SpeedLimiter | null;
  signal: AbortSignal;
  /** Paused while the sink waits on us (the speed limit, a caller's stream), not on the server. */
  floor?: ThroughputFloor | null;
  /** Called after bytes reached the destination; may throw to fail the transfer (size limit). */
  onBytes(chunks: readonly Uint8Array[], bytes: number): void;
}

/**
 * The writable a backend pipes a body into. It applies the shared speed limit, writes to the
 * destination and counts what was written. Ending it never ends a caller's stream.
 */
export class TransferSink extends Writable {
  readonly #options: SinkOptions;
  #pending: Promise<void> = Promise.resolve();

  constructor(options: SinkOptions) {
    // A large buffer lets _writev batch socket chunks into one write() system call.
    super({ highWaterMark: 256 * 1024 });
    this.#options = options;
    // The error also reaches whoever awaits the sink (pipeline, finished); without a listener a
    // sink destroyed before the backend piped into it would crash the process.
    this.on('error', () => {});
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#track(this.#put([chunk], chunk.byteLength), callback);
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let bytes = 0;
    const chunks = entries.map((e) => {
      bytes += e.chunk.byteLength;
      return e.chunk;
    });
    this.#track(this.#put(chunks, bytes), callback);
  }

  /**
   * Resolves once no write is under way. A write that began before the sink was destroyed still
   * lands on disk; the next attempt must wait for it before it decides where to resume.
   */
  settled(): Promise<void> {
    return this.#pending;
  }

  #track(put: Promise<void>, callback: (error?: Error | null) => void): void {
    this.#pending = put.then(
      () => callback(),
      (error: Error) => callback(error),
    );
  }

  async #put(chunks: readonly Uint8Array[], bytes: number): Promise<void> {
    const { writer, limiter, signal, onBytes, floor } = this.#options;
    floor?.hold();
    try {
      if (limiter !== null) await limiter.take(bytes, signal);
      signal.throwIfAborted();
      // Waiting for the limiter may have outlived the attempt.
      if (this.destroyed) throw new Error('the transfer ended before this chunk was written');
      await writer.write(chunks, signal);
    } finally {
      floor?.release();
    }
    onBytes(chunks, bytes);
  }
}
