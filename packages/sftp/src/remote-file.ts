import { Readable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';

export interface ReadWindow {
  /** First byte to read. */
  readonly start: number;
  /** Bytes up to here (exclusive): the size stat gave when the file was opened; Infinity reads to EOF. */
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
  /**
   * At EOF, with the file's stats then and the position reached: an error when the bytes read
   * cannot be trusted (the file changed meanwhile, or read short of its size), else null.
   */
  checkEnd(stats: Stats, position: number): Error | null;
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
  /** Where the bytes pushed so far end. */
  #position: number;
  #wanted = false;
  #eof = false;
  /** The final fstat is in flight: the stream ends when it answers. */
  #checking = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #onLost = () => this.destroy(this.#window.connectionLost.reason as Error);

  constructor(sftp: SFTPWrapper, handle: Buffer, window: ReadWindow) {
    super({ highWaterMark: window.chunkSize * 2 });
    this.#sftp = sftp;
    this.#handle = handle;
    this.#window = window;
    this.#next = window.start;
    this.#position = window.start;
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
      this.#position += slot.filled;
      if (slot.filled > 0 && !this.push(slot.buffer.subarray(0, slot.filled))) this.#wanted = false;
    }
    const drained = this.#slots.length === 0 && (this.#eof || this.#next >= this.#window.end);
    if (drained && !this.#checking && !this.readableEnded) this.#checkEnd();
  }

  /**
   * Stats the handle once more before ending: a file that grew, shrank or was rewritten while it
   * was read gave a torn copy, which must not end like a whole one.
   */
  #checkEnd(): void {
    this.#checking = true;
    this.#watch();
    try {
      this.#sftp.fstat(this.#handle, (error, stats) => {
        if (this.destroyed) return;
        const failure = error ?? this.#window.checkEnd(stats, this.#position);
        if (failure !== null) {
          this.destroy(failure);
          return;
        }
        clearTimeout(this.#timer);
        this.push(null);
      });
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  /** A timer runs while requests are in flight: a server that stops answering fails the read. */
  #watch(): void {
    const { idleTimeout } = this.#window;
    if (idleTimeout === 0) return;
    if (this.#slots.length === 0 && !this.#checking) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    } else {
      this.#timer ??= setTimeout(() => this.destroy(this.#window.onIdleTimeout()), idleTimeout);
    }
  }
}

export interface OpenedFile {
  readonly handle: Buffer;
  readonly stats: Stats;
  /** The bytes it holds, or null when stat cannot tell (a /proc file stats at 0 yet has content). */
  readonly size: number | null;
}

/** Opens `path` for reading and stats the handle: the size and mtime of what will be read. */
export async function openRemoteFile(sftp: SFTPWrapper, path: string): Promise<OpenedFile> {
  const handle = await new Promise<Buffer>((resolve, reject) => {
    sftp.open(path, 'r', (error, handle) => (error ? reject(error) : resolve(handle)));
  });
  try {
    const stats = await new Promise<Stats>((resolve, reject) => {
      sftp.fstat(handle, (error, stats) => (error ? reject(error) : resolve(stats)));
    });
    return { handle, stats, size: await sizeOf(sftp, handle, stats) };
  } catch (error) {
    closeQuietly(sftp, handle);
    throw error;
  }
}

/**
 * stat's size, unless a file stats at 0: kernel files on the server (/proc/…) do and still read
 * content, so one byte read tells them from an empty file.
 */
async function sizeOf(sftp: SFTPWrapper, handle: Buffer, stats: Stats): Promise<number | null> {
  if (stats.size > 0 || !stats.isFile()) return stats.size;
  const bytes = await new Promise<number>((resolve, reject) => {
    sftp.read(handle, Buffer.alloc(1), 0, 1, 0, (error, bytes) => (error ? reject(error) : resolve(bytes)));
  });
  return bytes === 0 ? 0 : null;
}

/** Closing is best effort: on a lost connection the handle is gone with it. */
export function closeQuietly(sftp: SFTPWrapper, handle: Buffer): void {
  try {
    sftp.close(handle, () => {});
  } catch {
    // The channel is already closed.
  }
}
