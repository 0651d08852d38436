import { Writable } from 'node:stream';
import type { DestinationWriter } from './destination.js';
import type { SpeedLimiter } from './limits/speed.js';

export interface SinkOptions {
  writer: DestinationWriter;
  limiter: SpeedLimiter | null;
  signal: AbortSignal;
  /** Called after bytes reached the destination; may throw to fail the transfer (size limit). */
  onBytes(chunks: readonly Uint8Array[], bytes: number): void;
}

/**
 * The writable a backend pipes a body into. It applies the shared speed limit, writes to the
 * destination and counts what was written. Ending it never ends a caller's stream.
 */
export class TransferSink extends Writable {
  readonly #options: SinkOptions;

  constructor(options: SinkOptions) {
    // A large buffer lets _writev batch socket chunks into one write() system call.
    super({ highWaterMark: 256 * 1024 });
    this.#options = options;
    // The error also reaches whoever awaits the sink (pipeline, finished); without a listener a
    // sink destroyed before the backend piped into it would crash the process.
    this.on('error', () => {});
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#put([chunk], chunk.byteLength).then(() => callback(), callback);
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let bytes = 0;
    const chunks = entries.map((e) => {
      bytes += e.chunk.byteLength;
      return e.chunk;
    });
    this.#put(chunks, bytes).then(() => callback(), callback);
  }

  async #put(chunks: readonly Uint8Array[], bytes: number): Promise<void> {
    const { writer, limiter, signal, onBytes } = this.#options;
    if (limiter !== null) await limiter.take(bytes, signal);
    signal.throwIfAborted();
    await writer.write(chunks);
    onBytes(chunks, bytes);
  }
}
