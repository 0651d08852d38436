import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { type TransferJob, openPartFile } from '@nectar/core/backend';
import { readError, type Source } from './source.js';

/**
 * Files of unknown size (/proc) are small: blocks of this size read them without allocating
 * a whole block for a few hundred bytes.
 */
const UNKNOWN_SIZE_BLOCK_BYTES = 64 * 1024;

/** Reads for a caller's stream: the sink holds each block until written, so keep them modest. */
const STREAM_BLOCK_BYTES = 1024 * 1024;

/** Copies `source` from byte `start` to the job's destination; returns the bytes copied. */
export async function copySource(job: TransferJob, source: Source, start: number): Promise<number> {
  if (job.tempPath === null) return pipeInto(job, source, start);
  const destination = job.request.destination as string;
  const part = await openPartFile(job.tempPath, destination);
  try {
    return await copyBlocks(job, source, part, start);
  } finally {
    await part.close();
  }
}

/**
 * Copies into the part file in blocks through one reused buffer: no stream machinery or
 * per-chunk allocation, and a cancel or speed limit takes effect between blocks. Reads stop at
 * the size stat gave, or at EOF when it gave none.
 */
async function copyBlocks(job: TransferJob, source: Source, part: FileHandle, start: number): Promise<number> {
  const buffer = Buffer.allocUnsafe(blockSize(job, source, start));
  const end = source.size ?? Number.POSITIVE_INFINITY;
  let position = start;
  while (position < end) {
    job.signal.throwIfAborted();
    const bytesRead = await readAt(source, buffer, Math.min(buffer.length, end - position), position);
    if (bytesRead === 0) break;
    await job.throttle(bytesRead);
    await part.write(buffer, 0, bytesRead, position);
    position += bytesRead;
    job.progressed(bytesRead);
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
    return (await source.handle.read(buffer, 0, length, position)).bytesRead;
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
