import { type ErrorCodeClass, NectarError } from '../errors.js';
import type { TransferJob } from '../engine/job.js';
import { redactUrl } from '../redact.js';

/** Where an HTTP transfer failed, for a message and an errorReport that name it. */
export interface FailureContext {
  /** The URL being fetched when it failed (after any redirects). */
  url: URL;
  /** The proxy the request goes through, if any. */
  readonly proxy: URL | null;
}

/** The context at the start of a transfer; a backend moves `url` along as it follows redirects. */
export function failureContext(job: Pick<TransferJob, 'url' | 'proxy'>): FailureContext {
  return { url: job.url, proxy: job.proxy?.url ?? null };
}

/** `<url> via proxy <proxy>`, passwords hidden: how every HTTP failure names where it happened. */
export function failurePlace(context: FailureContext): string {
  return context.proxy === null ? redactUrl(context.url) : `${redactUrl(context.url)} via proxy ${redactUrl(context.proxy)}`;
}

/**
 * The NectarError for a transport failure a backend has classified (with core's
 * `classifyErrorCode` or its own table): `<url> via proxy <proxy>: <what> (<original message>)`,
 * with `url`, `proxy` and the backend's `details` in the errorReport.
 */
export function transportError(error: unknown, context: FailureContext, failure: ErrorCodeClass, details: Record<string, unknown> = {}): NectarError {
  const message = error instanceof Error ? error.message : String(error);
  const fields: Record<string, unknown> = { url: redactUrl(context.url), ...failure.details, ...details };
  if (context.proxy !== null) fields.proxy = redactUrl(context.proxy);
  return new NectarError(failure.code, `${failurePlace(context)}: ${failure.what} (${message})`, {
    retryable: failure.retryable,
    cause: error,
    details: fields,
  });
}
