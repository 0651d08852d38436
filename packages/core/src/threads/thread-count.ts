import { NectarArgumentError } from '../errors.js';

/**
 * `config.threads` (or a backend's own option): worker threads that run transfers; 0 (the
 * default) runs them on the main thread. In-process is the fast default: a worker loads its
 * backend again (undici: ~90 ms), and every message costs a wake-up on both threads: on small
 * files workers lose, and with chunks written synchronously in-process they can only win where
 * TLS or decoding is the bottleneck on several idle cores (see undici's README for figures).
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
