import type { HostSlowdown } from '@nectar/core';
import { formatDuration } from './format.js';

/** "slowed   https://mirror.example: 503, pausing 2.0 s (Retry-After), 2 at once until it recovers". */
export function slowedLine(slowdown: HostSlowdown): string {
  const why = slowdown.retryAfter === null ? 'backoff' : 'Retry-After';
  return `slowed   ${slowdown.origin}: ${slowdown.status}, pausing ${formatDuration(slowdown.pause / 1000)} (${why}), ${slowdown.maxAtOnce} at once until it recovers`;
}
