import { Readable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';

export interface ReadWindow {
  /** First byte to read. */
  readonly start: number;
  /** Bytes up to here (exclusive): the size stat gave when the file was opened. */
  readonly end: number;
  /** Bytes per SFTP read request. */
  readonly chunkSize: number;
  /** Read requests kept in flight at once. */
  readonly depth: number;
  /** Aborted when the connection is lost: requests in flight will never be answered. */
  readonly connectionLost: AbortSignal;
  /** Milliseconds a request may wait for its answer; 0 for no limit. */
  readonly idleTimeout: number;
  onIdleTimeout(): Error;
}

/** A read request and the bytes that came back for it so far. */
interface Slot {
  readonly position: number;
  readonly buffer: Buffer;
  filled: number;
  done: boolean;
}

/**
 * A remote file as a Readable, with several SFTP read requests in flight like OpenSSH's sftp
 * and ssh2's fastGet do: ssh2's own ReadStream waits for each answer before asking again, which
 * leaves the connection idle for a round trip per chunk. Answers may arrive in any order; bytes
 * are pushed in file order. The handle is closed when the stream ends or is destroyed.
 */
export class RemoteFileReader extends Readable {
  readonly #sftp: SFTPWrapper;
  readonly #handle: Buffer;
  readonly #window: ReadWindow;
  readonly #slots: Slot[] = [];
  #next: number;
  #wanted = false;
  #eof = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onLost = () => this.destroy(this.#window.connectionLost.reason as Error);

  constructor(sftp: SFTPWrapper, handle: Buffer, window: ReadWindow) {
    super({ highWaterMark: window.chunkSize * 2 });
    this.#sftp = sftp;
    this.#handle = handle;
    this.#window = window;
    this.#next = window.start;
    if (window.connectionLost.aborted) queueMicrotask(this.#onLost);
    else window.connectionLost.addEventListener('abort', this.#onLost, { once: true });
  }

  override _read(): void {
    this.#wanted = true;
    this.#fill();
    this.#flush();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#window.connectionLost.removeEventListener('abort', this.#onLost);
    closeQuietly(this.#sftp, this.#handle);
    callback(error);
  }

  #fill(): void {
    const { end, chunkSize, depth } = this.#window;
    while (this.#wanted && !this.#eof && this.#slots.length < depth && this.#next < end) {
      const length = Math.min(chunkSize, end - this.#next);
      const slot: Slot = { position: this.#next, buffer: Buffer.allocUnsafe(length), filled: 0, done: false };
      this.#next += length;
      this.#slots.push(slot);
      this.#request(slot);
    }
    this.#watch();
  }

  #request(slot: Slot): void {
    const offset = slot.filled;
    try {
      this.#sftp.read(this.#handle, slot.buffer, offset, slot.buffer.length - offset, slot.position + offset, (error, bytes) => this.#landed(slot, error, bytes));
    } catch (error) {
      // ssh2 throws synchronously once the channel is closed.
      this.destroy(error as Error);
    }
  }

  #landed(slot: Slot, error: Error | undefined, bytes: number): void {
    if (this.destroyed) return;
    if (error !== undefined) {
      this.destroy(error);
      return;
    }
    this.#timer?.refresh();
    slot.filled += bytes;
    // A short answer is not the end (servers may cap a read); zero bytes is: the file shrank.
    if (bytes > 0 && slot.filled < slot.buffer.length) {
      this.#request(slot);
      return;
    }
    if (bytes === 0) this.#eof = true;
    slot.done = true;
    this.#flush();
    this.#fill();
  }

  #flush(): void {
    while (this.#slots[0]?.done === true) {
      const slot = this.#slots.shift()!;
      if (slot.filled > 0 && !this.push(slot.buffer.subarray(0, slot.filled))) this.#wanted = false;
    }
    const drained = this.#slots.length === 0 && (this.#eof || this.#next >= this.#window.end);
    if (drained && !this.readableEnded) this.push(null);
  }

  /** A timer runs while requests are in flight: a server that stops answering fails the read. */
  #watch(): void {
    const { idleTimeout } = this.#window;
    if (idleTimeout === 0) return;
    if (this.#slots.length === 0) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else {
      this.#timer ??= setTimeout(() => this.destroy(this.#window.onIdleTimeout()), idleTimeout);
    }
  }
}

/** Opens `path` for reading and stats the handle: the size and mtime of what will be read. */
export async function openRemoteFile(sftp: SFTPWrapper, path: string): Promise<{ handle: Buffer; stats: Stats }> {
  const handle = await new Promise<Buffer>((resolve, reject) => {
    sftp.open(path, 'r', (error, handle) => (error ? reject(error) : resolve(handle)));
  });
  try {
    const stats = await new Promise<Stats>((resolve, reject) => {
      sftp.fstat(handle, (error, stats) => (error ? reject(error) : resolve(stats)));
    });
    return { handle, stats };
  } catch (error) {
    closeQuietly(sftp, handle);
    throw error;
  }
}

/** Closing is best effort: on a lost connection the handle is gone with it. */
export function closeQuietly(sftp: SFTPWrapper, handle: Buffer): void {
  try {
    sftp.close(handle, () => {});
  } catch {
    // The channel is already closed.
  }
}
