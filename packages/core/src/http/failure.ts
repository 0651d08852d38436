import { type ErrorCodeClass, NectarError, classifyErrorCode, errorCodeOf, toNectarError } from '../errors.js';
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

/** How a backend names its library's failures, for `mapTransportFailure()`. */
export interface TransportCodes {
  /** The library's own error codes, looked up before core's generic table (errno, DNS, TLS, HTTP parser). */
  readonly codes?: Readonly<Record<string, ErrorCodeClass>>;
  /** A code for an error that carries none (a parser error without one, say). */
  codeOf?(error: unknown): string | undefined;
  /** The errorReport field that keeps the original code: `errno`, `undiciCode` … (default `errno`). */
  readonly detail?: string;
}

/**
 * The one mapping of a transport failure to a NectarError, for every HTTP backend: NectarErrors
 * pass through; a code is looked up in the backend's table, then in core's; anything unknown is
 * NECTAR_BACKEND with its message.
 */
export function mapTransportFailure(error: unknown, context: FailureContext, backend: TransportCodes = {}): NectarError {
  if (error instanceof NectarError) return error;
  const code = errorCodeOf(error) ?? backend.codeOf?.(error);
  const known = code === undefined ? undefined : (backend.codes?.[code] ?? classifyErrorCode(code));
  if (code === undefined || known === undefined) return toNectarError(error);
  return transportError(error, context, known, { [backend.detail ?? 'errno']: code });
}
