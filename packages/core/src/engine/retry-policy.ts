import type { NectarError } from '../errors.js';

/** The settings the retry policy reads. */
export interface RetrySettings {
  readonly retryDelay: number;
  readonly retryMaxDelay: number;
  readonly retryAfterMax: number;
}

/**
 * Milliseconds to wait before retry number `retry` (0 for the first): full jitter over an
 * exponential ceiling, `random(0, min(retryMaxDelay, retryDelay × 2^retry))`; a server's
 * Retry-After (`error.details.retryAfter`, ms) is a floor, cut to `retryAfterMax`.
 * `random` is injectable so that the rule can be tested exactly.
 */
export function retryDelay(settings: RetrySettings, retry: number, error: NectarError, random: () => number = Math.random): number {
  const ceiling = Math.min(settings.retryMaxDelay, settings.retryDelay * 2 ** retry);
  const jittered = random() * ceiling;
  const asked = error.details.retryAfter;
  return typeof asked === 'number' ? Math.max(jittered, Math.min(asked, settings.retryAfterMax)) : jittered;
}

/** Failures another URL cannot fix: the destination, bad input, a refused resume, a cancel. */
const notForAMirror: ReadonlySet<string> = new Set(['NECTAR_DESTINATION', 'NECTAR_INVALID_CONFIG', 'NECTAR_INVALID_REQUEST', 'NECTAR_RESUME', 'NECTAR_CANCELED']);

/** Whether a request that failed for good on one URL is worth trying on its next mirror. */
export function worthAMirror(error: NectarError | undefined): boolean {
  return error !== undefined && !notForAMirror.has(error.code);
}
