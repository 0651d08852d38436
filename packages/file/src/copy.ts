import { read, readSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { TransferJob } from '@nectar/core/backend';
import { checkUnchanged, readError, type Source } from './source.js';

/**
 * Files of unknown size (/proc) are small: blocks of this size read them without allocating
 * a whole block for a few hundred bytes.
 */
const UNKNOWN_SIZE_BLOCK_BYTES = 64 * 1024;

/**
 * Reads up to this size are made synchronously: from the page cache they take microseconds,
 * less than their hop through libuv's thread pool (a small file is one such read). Larger
 * ones go to the pool, overlapping with the write of the block before.
 */
const SYNC_READ_BYTES = 256 * 1024;

const readAsync = promisify(read);

/** Reads for a caller's stream: the sink holds each block until written, so keep them modest. */
const STREAM_BLOCK_BYTES = 1024 * 1024;

/** Copies `source` from byte `start` to the job's destination; returns the bytes copied. */
export async function copySource(job: TransferJob, source: Source, start: number): Promise<number> {
  if (job.tempPath === null) return pipeInto(job, source, start);
  return copyBlocks(job, source, start);
}

/** Copies bytes [start, end) of `source` (a segment core asked for) through the job's body. */
export async function copyRange(job: TransferJob, source: Source, range: { start: number; end: number }): Promise<void> {
  const copied = await copyBlocks(job, source, range.start, range.end);
  if (copied !== range.end - range.start) throw readError(source.path, new Error(`read ${copied} of bytes ${range.start}-${range.end - 1}: the file shrank`));
}

/**
 * Copies into the part file through core's writer (which counts, hashes and throttles, and
 * writes each block synchronously at its place) with two buffers in turn: the next large block
 * is read on libuv's thread pool while this one is written. A cancel or speed limit takes effect
 * between blocks. Reads stop at the size stat gave, or at EOF when it gave none.
 */
async function copyBlocks(job: TransferJob, source: Source, start: number, end = source.size ?? Number.POSITIVE_INFINITY): Promise<number> {
  const size = Math.max(1, Math.min(blockSize(job, source, start), end - start));
  // The second buffer only when there is a second block: a small file needs one.
  const buffers: Buffer[] = [Buffer.allocUnsafe(size)];
  let position = start;
  let turn = 0;
  let reading: Promise<number> | null = readAt(source, buffers[0] as Buffer, Math.min(size, end - position), position);
  try {
    while (reading !== null) {
      const bytesRead = await reading;
      reading = null;
      if (bytesRead === 0) break;
      checkUnchanged(source);
      const block = (buffers[turn] as Buffer).subarray(0, bytesRead);
      position += bytesRead;
      turn = 1 - turn;
      if (position < end) {
        buffers[turn] ??= Buffer.allocUnsafe(size);
        reading = readAt(source, buffers[turn] as Buffer, Math.min(size, end - position), position);
      }
      job.signal.throwIfAborted();
      // A file destination is written at once: the buffer is free again when write() returns.
      const written = job.body.write([block], bytesRead);
      if (written !== undefined) await written;
    }
  } finally {
    // The source is closed after this returns: no read of it may still be under way.
    await reading?.catch(() => {});
  }
  return position - start;
}

/** For a stream destination: blocks through core's sink, which counts, throttles and writes. */
async function pipeInto(job: TransferJob, source: Source, start: number): Promise<number> {
  let copied = 0;
  const size = Math.min(blockSize(job, source, start), STREAM_BLOCK_BYTES);
  async function* blocks(): AsyncGenerator<Buffer> {
    const end = source.size ?? Number.POSITIVE_INFINITY;
    for (let position = start; position < end; ) {
      // A fresh buffer each time: the sink may still hold the previous one.
      const buffer = Buffer.allocUnsafe(Math.min(size, end - position));
      const bytesRead = await readAt(source, buffer, buffer.length, position);
      if (bytesRead === 0) return;
      checkUnchanged(source);
      position += bytesRead;
      copied += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }
  // No { signal } here: core destroys the sink on abort, and pipeline passes that on.
  await pipeline(blocks(), job.sink);
  return copied;
}

async function readAt(source: Source, buffer: Buffer, length: number, position: number): Promise<number> {
  try {
    if (length <= SYNC_READ_BYTES) return readSync(source.fd, buffer, 0, length, position);
    return (await readAsync(source.fd, buffer, 0, length, position)).bytesRead;
  } catch (error) {
    throw readError(source.path, error);
  }
}

/** Under a speed limit, blocks of about 1/8 s keep the rate smooth and a cancel prompt; never more than the file holds. */
function blockSize(job: TransferJob, source: Source, start: number): number {
  const maxSpeed = job.config.maxSpeed;
  const block = maxSpeed === undefined ? 4 * 1024 * 1024 : Math.min(4 * 1024 * 1024, Math.max(16 * 1024, Math.floor(maxSpeed / 8)));
  const left = source.size === null ? UNKNOWN_SIZE_BLOCK_BYTES : source.size - start;
  return Math.max(1, Math.min(block, left));
}
