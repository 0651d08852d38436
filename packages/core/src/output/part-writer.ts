import { writeSync, writevSync } from 'node:fs';
import { destinationError } from './destination-error.js';

/**
 * Writes `chunks` at `position` of an open file, synchronously. Into the page cache a write takes
 * microseconds, while the same write through fs/promises queues on libuv's thread pool (shared by
 * every thread of the process, four threads by default) and costs two thread hops per call —
 * measured at four times the system call itself on small files.
 */
export function writeAt(fd: number, chunks: readonly Uint8Array[], bytes: number, position: number): void {
  let written = chunks.length === 1 ? writeSync(fd, chunks[0] as Uint8Array, 0, bytes, position) : writevSync(fd, chunks as Uint8Array[], position);
  // A regular file takes everything at once in practice; a short write continues byte-exact.
  if (written < bytes) {
    const rest = Buffer.concat(chunks as Uint8Array[]);
    while (written < bytes) written += writeSync(fd, rest, written, bytes - written, position + written);
  }
}

export interface PartWriterOptions {
  /** An open descriptor of the part file (core's own, or one from `openPartFileSync`). */
  readonly fd: number;
  /** For messages: the file the part becomes. */
  readonly destination: string;
  /** Where the next byte goes: the resume offset, or 0. */
  readonly position: number;
  /** Write no more than this many bytes (the first segment of a split file); later ones are dropped. */
  readonly limit?: number;
}

/**
 * The positioned writer of a part file, usable in any thread: it writes each chunk where it
 * belongs, synchronously, and stops at a limit. It never opens or closes
 * the file: the descriptor belongs to whoever opened it.
 */
export class PartWriter {
  readonly #options: PartWriterOptions;
  #position: number;
  #room: number;

  constructor(options: PartWriterOptions) {
    this.#options = options;
    this.#position = options.position;
    this.#room = options.limit ?? Number.POSITIVE_INFINITY;
  }

  /** Where the next byte goes. */
  get position(): number {
    return this.#position;
  }

  /** Whether `limit` bytes are written. */
  get full(): boolean {
    return this.#room === 0;
  }

  /** Writes `chunks` (or their first bytes up to the limit); returns the bytes written. Throws NECTAR_DESTINATION. */
  write(all: readonly Uint8Array[], allBytes = byteLength(all)): number {
    const { chunks, bytes } = allBytes <= this.#room ? { chunks: all, bytes: allBytes } : fit(all, this.#room);
    if (bytes === 0) return 0;
    try {
      writeAt(this.#options.fd, chunks, bytes, this.#position);
    } catch (error) {
      throw destinationError(this.#options.destination, error, 'write to');
    }
    this.#position += bytes;
    this.#room -= bytes;
    return bytes;
  }
}

export function byteLength(chunks: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const chunk of chunks) bytes += chunk.byteLength;
  return bytes;
}

/** The first `room` bytes of `chunks`. */
export function fit(chunks: readonly Uint8Array[], room: number): { chunks: readonly Uint8Array[]; bytes: number } {
  const kept: Uint8Array[] = [];
  let bytes = 0;
  for (const chunk of chunks) {
    if (bytes === room) break;
    const part = chunk.subarray(0, room - bytes);
    kept.push(part);
    bytes += part.byteLength;
  }
  return { chunks: kept, bytes };
}
