import { NectarArgumentError } from '@nectar/core/backend';

/**
 * `config.threads`: worker threads that run transfers; 0 (the default) runs them on the main
 * thread. In-process is the fast default: a worker loads undici again (~90 ms), each file is then
 * opened twice and every message costs a wake-up on both threads: on small files workers lose,
 * and with chunks written synchronously in-process they can only win where TLS or decoding is
 * the bottleneck on several idle cores (see the README's figures).
 */
export function threadCount(threads: unknown): number {
  if (threads === undefined) return 0;
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
