import { STATUS_CODES } from 'node:http';
import { type ErrorCodeClass, NectarError, errorCodeOf } from '@nectar/core/backend';
import { type FailureContext, mapTransportFailure, proxyError, socksFailure, transportError } from '@nectar/core/http';

const timeout = (phase: 'connect' | 'headers' | 'body', what: string): ErrorCodeClass => ({
  code: 'NECTAR_TIMEOUT',
  retryable: true,
  what,
  details: { timeout: phase },
});

/** undici's own error codes; the generic errno, DNS and TLS codes are core's `classifyErrorCode`. */
const undiciCodes: Readonly<Record<string, ErrorCodeClass>> = {
  UND_ERR_CONNECT_TIMEOUT: timeout('connect', 'connecting took longer than config.connectTimeout'),
  UND_ERR_HEADERS_TIMEOUT: timeout('headers', 'no response headers within config.headersTimeout'),
  UND_ERR_BODY_TIMEOUT: timeout('body', 'the body stalled for longer than config.bodyTimeout'),
  UND_ERR_SOCKET: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection failed' },
  UND_ERR_HEADERS_OVERFLOW: { code: 'NECTAR_NETWORK', retryable: false, what: 'the response headers are too large' },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { code: 'NECTAR_SIZE_MISMATCH', retryable: true, what: 'the body does not match its Content-Length' },
  // undici raises it when the proxy's certificate does not name the proxy host.
  UND_ERR_PRX_TLS: { code: 'NECTAR_PROXY', retryable: false, what: "the proxy's TLS certificate was rejected" },
  UND_ERR_CLOSED: { code: 'NECTAR_CLOSED', retryable: false, what: 'the downloader was closed' },
  UND_ERR_DESTROYED: { code: 'NECTAR_CLOSED', retryable: false, what: 'the downloader was closed' },
};

/**
 * Turns what undici or Node threw during one transfer into a NectarError with a stable code and
 * a retryable flag. NectarErrors (HTTP status, redirects, the destination) pass through as is.
 */
export function transferError(error: unknown, context: FailureContext): NectarError {
  if (error instanceof NectarError) return error;
  const socks = socksFailure(error, context);
  if (socks !== undefined) return socks;
  const code = errorCodeOf(error);
  const refusal = code === undefined ? undefined : proxyRefusal(code, error, context);
  return refusal ?? mapTransportFailure(error, context, { codes: undiciCodes, codeOf: parserErrorCode, detail: 'undiciCode' });
}

/** undici raises some llhttp errors (an invalid header token) as an HTTPParserError without a code. */
function parserErrorCode(error: unknown): string | undefined {
  return error instanceof Error && error.name === 'HTTPParserError' ? 'HPE_INVALID' : undefined;
}

const refusedTunnel: ErrorCodeClass = { code: 'NECTAR_PROXY', retryable: false, what: 'the proxy refused the tunnel' };

/**
 * A proxy that refuses a request surfaces in undici without a code of its own: a refused CONNECT
 * as a RequestAbortedError ("Proxy response (407) !== 200 when HTTP Tunneling"), a 407 to a
 * forwarded plain-http request as an InvalidArgumentError ("Proxy Authentication Required
 * (407)"). The status is read from the message, and an InvalidArgumentError without one stays
 * what it is. Our own cancels never reach here: the caller rethrows them before mapping.
 */
function proxyRefusal(code: string, error: unknown, context: FailureContext): NectarError | undefined {
  if (context.proxy === null || (code !== 'UND_ERR_ABORTED' && code !== 'UND_ERR_INVALID_ARG')) return undefined;
  const message = error instanceof Error ? error.message : String(error);
  const status = Number(/\((\d{3})\)/.exec(message)?.[1] ?? Number.NaN);
  if (!Number.isNaN(status)) return proxyError(status, STATUS_CODES[status] ?? '', context, error);
  return code === 'UND_ERR_ABORTED' ? transportError(error, context, refusedTunnel, { undiciCode: code }) : undefined;
}
