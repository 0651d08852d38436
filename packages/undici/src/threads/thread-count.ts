import { availableParallelism } from 'node:os';
import { NectarArgumentError } from '@nectar/core/backend';

/**
 * Beyond four threads a download is bound by the main thread (core's bookkeeping, renames) or by
 * the disk, not by HTTP parsing or TLS; more workers only add memory and contention.
 */
const defaultCap = 4;

/** `config.threads`: worker threads that run transfers; 0 runs them on the main thread. */
export function threadCount(threads: unknown): number {
  if (threads === undefined) return Math.min(availableParallelism(), defaultCap);
  if (typeof threads !== 'number' || !Number.isSafeInteger(threads) || threads < 0) {
    throw new NectarArgumentError(
      `config.threads must be a non-negative integer (0 runs transfers in-process), got ${JSON.stringify(threads) ?? String(threads)}`,
      'NECTAR_INVALID_CONFIG',
    );
  }
  return threads;
}

/** `config.segments`: connections (and workers) one large file may be fetched over; 1 = never split. */
export function segmentCount(segments: unknown): number {
  if (segments === undefined) return 1;
  if (typeof segments !== 'number' || !Number.isSafeInteger(segments) || segments < 1) {
    throw new NectarArgumentError(`config.segments must be a positive integer (1 never splits a file), got ${JSON.stringify(segments) ?? String(segments)}`, 'NECTAR_INVALID_CONFIG');
  }
  return segments;
}
