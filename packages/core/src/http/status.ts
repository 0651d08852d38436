import { NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { type FailureContext, failurePlace } from './failure.js';

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

/**
 * The error for a proxy that refused us: a 407 (it wants other credentials than
 * config.proxyUsername/proxyPassword), or another answer to CONNECT or to a forwarded request.
 */
export function proxyError(status: number, statusText: string, context: FailureContext, cause?: unknown): NectarError {
  const what =
    status === 407 ? 'the proxy asks for other credentials (407); check config.proxyUsername and config.proxyPassword' : `the proxy refused the request with ${status}`;
  return new NectarError('NECTAR_PROXY', `${failurePlace(context)}: ${what}`, {
    // A gateway error may be the target's passing trouble; a 407 or 403 will not change.
    retryable: status === 502 || status === 503 || status === 504,
    cause,
    details: { status, statusText, url: redactUrl(context.url), proxy: context.proxy && redactUrl(context.proxy) },
  });
}
