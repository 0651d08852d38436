import { NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';

const transientStatus = new Set([408, 429, 500, 502, 503, 504]);

/** Milliseconds asked for by a Retry-After header (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || text.trim() === '') return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The error for a response that is not a success: retryable for 408/429/5xx-transient only. */
export function httpStatusError(
  status: number,
  statusText: string,
  url: string | URL,
  headers: Record<string, string | string[] | undefined> = {},
): NectarError {
  const retryAfter = parseRetryAfter(headers['retry-after']);
  const details: Record<string, unknown> = { status, statusText, url: redactUrl(url) };
  if (retryAfter !== undefined) details.retryAfter = retryAfter;
  return new NectarError('NECTAR_HTTP_STATUS', `${status} ${statusText} from ${redactUrl(url)}`.replace('  ', ' '), {
    retryable: transientStatus.has(status),
    details,
  });
}
