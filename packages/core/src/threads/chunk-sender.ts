import type { BodyOutput } from '../engine/job.js';

/** Chunks posted and not yet written by the main thread, before the worker stops reading. */
const maxInFlight = 8;

/**
 * A worker's body for a caller's stream destination: each chunk goes back to the main thread,
 * which writes it into core's sink. A transport's chunks may be views of its socket buffer, so
 * they are copied into a buffer of their own that moves with the message. Backpressure is by
 * credit: the main thread returns one per chunk written, and `write()` waits while `maxInFlight`
 * are out.
 */
export class ChunkSender implements BodyOutput {
  readonly #send: (data: ArrayBuffer) => void;
  readonly #signal: AbortSignal;
  #inFlight = 0;
  #blocked: (() => void) | null = null;

  constructor(send: (data: ArrayBuffer) => void, signal: AbortSignal) {
    this.#send = send;
    this.#signal = signal;
  }

  /** The main thread wrote one chunk. */
  credit(): void {
    this.#inFlight--;
    const blocked = this.#blocked;
    this.#blocked = null;
    blocked?.();
  }

  write(chunks: readonly Uint8Array[], bytes: number): void | Promise<void> {
    this.#signal.throwIfAborted();
    const copy = new Uint8Array(bytes);
    let at = 0;
    for (const chunk of chunks) {
      copy.set(chunk, at);
      at += chunk.byteLength;
    }
    this.#send(copy.buffer);
    this.#inFlight++;
    if (this.#inFlight < maxInFlight) return;
    // An abort (the main thread's, or the attempt's end) must not leave the backend waiting.
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(this.#signal.reason);
      this.#signal.addEventListener('abort', onAbort, { once: true });
      this.#blocked = () => {
        this.#signal.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }
}
