import { once } from 'node:events';
import { type FileHandle, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { NectarError, toNectarError } from './errors.js';

/**
 * Where one request's bytes land. A path is written atomically through a part file beside it;
 * a caller's stream is written to and never ended or destroyed.
 */
export interface DestinationWriter {
  /** The part file a backend may write itself, or null for a stream. */
  readonly tempPath: string | null;
  /** Bytes already in the destination: what a resume continues from. */
  readonly size: number;
  write(chunks: readonly Uint8Array[]): Promise<void>;
  /** The validator a kept part file was saved with: a new run resumes with it. */
  readonly resumeValidator: string | null;
  /** Drops what was written so the next attempt starts from byte 0; impossible for a stream that got bytes. */
  restart(): Promise<void>;
  /** Account for bytes a backend wrote to tempPath itself. */
  grew(bytes: number): void;
  commit(options: { fsync: boolean }): Promise<void>;
  /** Gives up; `keep` (with a validator) leaves the part file and its sidecar for a later run. */
  abandon(keep?: { validator: string }): Promise<void>;
}

export function partPath(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}.nectar-part`);
}

/** Beside a kept part file: what it is a part of, so that a later run only resumes the same thing. */
interface PartSidecar {
  url: string;
  validator: string;
}

function sidecarPath(destination: string): string {
  return `${partPath(destination)}.json`;
}

async function readSidecar(destination: string): Promise<PartSidecar | null> {
  try {
    const sidecar = JSON.parse(await readFile(sidecarPath(destination), 'utf8')) as Partial<PartSidecar>;
    return typeof sidecar.url === 'string' && typeof sidecar.validator === 'string' ? { url: sidecar.url, validator: sidecar.validator } : null;
  } catch {
    return null;
  }
}

function destinationError(path: string, error: unknown, what: string): NectarError {
  const cause = toNectarError(error);
  return new NectarError('NECTAR_DESTINATION', `cannot ${what} ${path}: ${cause.message}`, {
    cause: error,
    details: { destination: path, errno: cause.details.errno },
  });
}

export interface AtomicFileOptions {
  /** The URL being downloaded: a kept part file is resumed only for the same one. */
  url?: string;
}

export class AtomicFile implements DestinationWriter {
  readonly destination: string;
  readonly tempPath: string;
  readonly resumeValidator: string | null;
  readonly #url: string | undefined;
  #handle: FileHandle;
  #size: number;

  private constructor(destination: string, handle: FileHandle, url: string | undefined, size = 0, validator: string | null = null) {
    this.destination = destination;
    this.#url = url;
    this.tempPath = partPath(destination);
    this.#handle = handle;
    this.#size = size;
    this.resumeValidator = validator;
  }

  static async open(destination: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    // No stat() of the destination first: on the common path it fails with ENOENT, and that
    // error (with its stack) costs more than the rest of opening. A folder is caught at rename.
    const temp = partPath(destination);
    try {
      // Exclusive: two writers on one part file would interleave bytes.
      return new AtomicFile(destination, await open(temp, 'wx'), options.url);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        const kept = await AtomicFile.#reopen(destination, options);
        if (kept !== null) return kept;
        throw new NectarError(
          'NECTAR_DESTINATION',
          `${temp} already exists: another download is writing ${destination}, or a killed one left it (remove it to start afresh)`,
          { cause: error, details: { destination, tempPath: temp } },
        );
      }
      throw destinationError(destination, error, 'write to');
    }
  }

  /**
   * A part file with a sidecar was kept by an earlier run (keepPartial), not written by one in
   * flight: reuse it — to resume if it is the same URL, else from scratch.
   */
  static async #reopen(destination: string, options: AtomicFileOptions): Promise<AtomicFile | null> {
    const sidecar = await readSidecar(destination);
    if (sidecar === null) return null;
    await unlink(sidecarPath(destination)).catch(() => {});
    const handle = await open(partPath(destination), 'r+');
    if (sidecar.url !== options.url) {
      await handle.truncate(0);
      return new AtomicFile(destination, handle, options.url);
    }
    const { size } = await handle.stat();
    return new AtomicFile(destination, handle, options.url, size, sidecar.validator);
  }

  get size(): number {
    return this.#size;
  }

  async write(chunks: readonly Uint8Array[]): Promise<void> {
    try {
      const { bytesWritten } = await this.#handle.writev(chunks as Uint8Array[], this.#size);
      this.#size += bytesWritten;
    } catch (error) {
      throw destinationError(this.destination, error, 'write to');
    }
  }

  grew(bytes: number): void {
    this.#size += bytes;
  }

  async restart(): Promise<void> {
    await this.#handle.truncate(0);
    this.#size = 0;
  }

  async commit({ fsync }: { fsync: boolean }): Promise<void> {
    try {
      if (fsync) await this.#handle.sync();
      await this.#handle.close();
      await rename(this.tempPath, this.destination);
      if (fsync) await syncFolder(dirname(this.destination));
    } catch (error) {
      await this.abandon();
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new NectarError('NECTAR_DESTINATION', `destination ${this.destination} is a directory; give a file path`, {
          cause: error,
          details: { destination: this.destination },
        });
      }
      throw destinationError(this.destination, error, 'move the finished file to');
    }
  }

  async abandon(keep?: { validator: string }): Promise<void> {
    await this.#handle.close().catch(() => {});
    if (keep !== undefined && this.#size > 0 && this.#url !== undefined) {
      const sidecar: PartSidecar = { url: this.#url, validator: keep.validator };
      await writeFile(sidecarPath(this.destination), JSON.stringify(sidecar)).catch(() => {});
      return;
    }
    await unlink(this.tempPath).catch(() => {});
  }
}

/** fsync of a folder, so that a rename in it survives a crash. */
export async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** A caller's writable: written with backpressure, watched for errors, never ended. */
export class StreamDestination implements DestinationWriter {
  readonly tempPath = null;
  readonly resumeValidator = null;
  readonly #stream: NodeJS.WritableStream;
  #size = 0;
  #error: Error | null = null;
  readonly #onError = (error: Error) => {
    this.#error = error;
  };

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    stream.on('error', this.#onError);
  }

  get size(): number {
    return this.#size;
  }

  async write(chunks: readonly Uint8Array[]): Promise<void> {
    for (const chunk of chunks) {
      this.#check();
      if (!this.#stream.write(chunk)) await this.#drain();
      this.#size += chunk.byteLength;
    }
    this.#check();
  }

  grew(bytes: number): void {
    this.#size += bytes;
  }

  async restart(): Promise<void> {
    if (this.#size > 0) {
      throw new NectarError('NECTAR_RESUME', `cannot retry from the start: ${this.#size} bytes were already written to the caller's stream`, {
        details: { bytesWritten: this.#size },
      });
    }
  }

  async commit(): Promise<void> {
    this.#release();
    this.#check();
  }

  async abandon(): Promise<void> {
    this.#release();
  }

  #check(): void {
    const writable = this.#stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    if (this.#error !== null) throw destinationError('the destination stream', this.#error, 'write to');
    if (writable.destroyed === true || writable.writableEnded === true) {
      throw new NectarError('NECTAR_DESTINATION', 'the destination stream was closed before the download finished');
    }
  }

  async #drain(): Promise<void> {
    // 'close' and 'error' also end the wait: a stream that dies never emits 'drain'.
    const controller = new AbortController();
    const { signal } = controller;
    const ended = (event: string) => once(this.#stream as NodeJS.EventEmitter, event, { signal }).catch(() => {});
    await Promise.race([ended('drain'), ended('close'), ended('error')]);
    controller.abort();
  }

  #release(): void {
    this.#stream.removeListener('error', this.#onError);
  }
}
