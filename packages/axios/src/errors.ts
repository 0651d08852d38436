import { type ErrorCodeClass, NectarError, classifyErrorCode, errorCodeOf, redactUrl } from '@nectar/core/backend';
import { type FailureContext, failurePlace, mapTransportFailure, socksFailure, transportError } from '@nectar/core/http';

export type TimeoutPhase = 'connect' | 'headers' | 'body';

const timeoutWhat: Readonly<Record<TimeoutPhase, { field: string; what: string }>> = {
  connect: { field: 'connectTimeout', what: 'no connection within' },
  headers: { field: 'headersTimeout', what: 'no response headers within' },
  body: { field: 'bodyTimeout', what: 'the body stalled for longer than' },
};

/**
 * One of our own three timers fired; retrying may well succeed. Through a proxy the message names
 * it (password hidden): a proxy that accepts and then says nothing looks like a slow target.
 */
export function timeoutError(phase: TimeoutPhase, ms: number, url: URL, proxy: URL | null = null): NectarError {
  const { field, what } = timeoutWhat[phase];
  return new NectarError('NECTAR_TIMEOUT', `${failurePlace({ url, proxy })}: ${what} config.${field} (${ms} ms)`, {
    retryable: true,
    details: { timeout: phase, ms, url: redactUrl(url), ...(proxy === null ? {} : { proxy: redactUrl(proxy) }) },
  });
}

/**
 * Turns what axios or Node threw during one transfer into a NectarError with a stable code and a
 * retryable flag. axios adds no failure of its own that matters here (ECONNABORTED, its code for
 * a socket closed mid-request, is Node's too): core's table of generic codes covers them.
 * NectarErrors (HTTP status, redirects, our timeouts) pass through as they are.
 */
export function transferError(error: unknown, context: FailureContext): NectarError {
  if (error instanceof NectarError) return error;
  return socksFailure(error, context) ?? mapTransportFailure(error, context);
}

const proxyTls: ErrorCodeClass = { code: 'NECTAR_PROXY', retryable: false, what: "the proxy's TLS certificate was rejected" };

/**
 * A TLS failure on the way to an https proxy, as NECTAR_PROXY (as @nectar/undici reports it), so
 * that the report says whose certificate to look at; undefined for any other failure. Node's
 * error is the same for both certificates: what tells them apart is that the target's handshake
 * starts only once the proxy answered CONNECT, and that an http target has none.
 */
export function proxyTlsError(error: unknown, context: FailureContext, connectStatus: number | undefined): NectarError | undefined {
  if (context.proxy?.protocol !== 'https:' || connectStatus !== undefined) return undefined;
  const code = errorCodeOf(error);
  if (code === undefined || classifyErrorCode(code)?.code !== 'NECTAR_TLS') return undefined;
  return transportError(error, context, proxyTls, { errno: code });
}
