import { Writable } from 'node:stream';

/** Chunks posted and not yet written by the main thread, before the worker stops reading. */
const maxInFlight = 8;

/**
 * A worker's writable for a caller's stream destination: each chunk goes back to the main thread,
 * which writes it into core's sink. undici's chunks are views of the socket's buffer, so they are
 * copied into a buffer of their own that moves with the message. Backpressure is by credit: the
 * main thread returns one per chunk written, and the sender waits while `maxInFlight` are out.
 */
export class ChunkSender extends Writable {
  readonly #send: (data: ArrayBuffer) => void;
  #inFlight = 0;
  #blocked: (() => void) | null = null;

  constructor(send: (data: ArrayBuffer) => void) {
    super({ highWaterMark: 256 * 1024 });
    this.#send = send;
  }

  /** The main thread wrote one chunk. */
  credit(): void {
    this.#inFlight--;
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#post([chunk], chunk.byteLength, callback);
  }

  override _writev(entries: Array<{ chunk: Buffer }>, callback: (error?: Error | null) => void): void {
    let bytes = 0;
    for (const entry of entries) bytes += entry.chunk.byteLength;
    this.#post(
      entries.map((e) => e.chunk),
      bytes,
      callback,
    );
  }

  #post(chunks: Buffer[], bytes: number, callback: (error?: Error | null) => void): void {
    const copy = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of chunks) {
      copy.set(chunk, at);
      at += chunk.byteLength;
    }
    this.#send(copy.buffer);
    this.#inFlight++;
    if (this.#inFlight < maxInFlight) callback();
    else this.#blocked = () => callback();
  }
}
