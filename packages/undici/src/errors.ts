import { NectarError, type NectarErrorCode, redactUrl, toNectarError } from '@nectar/core';

/** Where a failure happened, for a message and an errorReport that name it. */
export interface FailureContext {
  /** The URL being fetched when it failed (after any redirects). */
  readonly url: URL;
  /** The proxy the request went through, if any. */
  readonly proxy: URL | null;
}

interface Mapping {
  readonly code: NectarErrorCode;
  readonly retryable: boolean;
  readonly what: string;
  readonly details?: Record<string, unknown>;
}

const timeout = (phase: 'connect' | 'headers' | 'body', what: string): Mapping => ({
  code: 'NECTAR_TIMEOUT',
  retryable: true,
  what,
  details: { timeout: phase },
});

/** undici's own error codes, and the errno codes Node's net/dns layer raises under it. */
const mappings: Readonly<Record<string, Mapping>> = {
  UND_ERR_CONNECT_TIMEOUT: timeout('connect', 'connecting took longer than config.connectTimeout'),
  UND_ERR_HEADERS_TIMEOUT: timeout('headers', 'no response headers within config.headersTimeout'),
  UND_ERR_BODY_TIMEOUT: timeout('body', 'the body stalled for longer than config.bodyTimeout'),
  ETIMEDOUT: timeout('connect', 'the connection timed out'),
  UND_ERR_SOCKET: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection failed' },
  ECONNRESET: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was reset' },
  EPIPE: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was closed' },
  ECONNABORTED: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was aborted' },
  UND_ERR_HEADERS_OVERFLOW: { code: 'NECTAR_NETWORK', retryable: false, what: 'the response headers are too large' },
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: { code: 'NECTAR_SIZE_MISMATCH', retryable: true, what: 'the body does not match its Content-Length' },
  ECONNREFUSED: { code: 'NECTAR_CONNECT', retryable: true, what: 'the connection was refused' },
  EHOSTUNREACH: { code: 'NECTAR_CONNECT', retryable: true, what: 'the host is unreachable' },
  ENETUNREACH: { code: 'NECTAR_CONNECT', retryable: true, what: 'the network is unreachable' },
  EAI_AGAIN: { code: 'NECTAR_CONNECT', retryable: true, what: 'the host name could not be resolved right now' },
  // A name that does not exist will not exist a second later either.
  ENOTFOUND: { code: 'NECTAR_CONNECT', retryable: false, what: 'the host name does not resolve' },
  // undici raises it when the proxy's certificate does not name the proxy host.
  UND_ERR_PRX_TLS: { code: 'NECTAR_PROXY', retryable: false, what: "the proxy's TLS certificate was rejected" },
  UND_ERR_CLOSED: { code: 'NECTAR_CLOSED', retryable: false, what: 'the downloader was closed' },
  UND_ERR_DESTROYED: { code: 'NECTAR_CLOSED', retryable: false, what: 'the downloader was closed' },
};

/**
 * Certificate verification and handshake failures: retrying cannot fix them, the config can.
 * OpenSSL's verify codes have no common prefix; Node's own TLS/OpenSSL codes do.
 */
const tlsCodes = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'HOSTNAME_MISMATCH',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
]);
const tlsPrefixes = ['CERT_', 'ERR_TLS_', 'ERR_SSL_', 'ERR_OSSL_'];

function isTlsCode(code: string): boolean {
  return tlsCodes.has(code) || tlsPrefixes.some((prefix) => code.startsWith(prefix));
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * Turns what undici or Node threw during one transfer into a NectarError with a stable code and
 * a retryable flag. NectarErrors (HTTP status, redirects, the destination) pass through as is.
 */
export function transferError(error: unknown, context: FailureContext): NectarError {
  if (error instanceof NectarError) return error;
  const code = codeOf(error);
  if (code === undefined) return toNectarError(error);
  const message = error instanceof Error ? error.message : String(error);
  const mapping = mappings[code] ?? proxyRefusal(code, message, context) ?? tlsFailure(code);
  if (mapping === undefined) return toNectarError(error);
  const via = context.proxy === null ? '' : ` via proxy ${redactUrl(context.proxy)}`;
  const details: Record<string, unknown> = { url: redactUrl(context.url), ...mapping.details, undiciCode: code };
  if (context.proxy !== null) details.proxy = redactUrl(context.proxy);
  return new NectarError(mapping.code, `${redactUrl(context.url)}${via}: ${mapping.what} (${message})`, {
    retryable: mapping.retryable,
    cause: error,
    details,
  });
}

function tlsFailure(code: string): Mapping | undefined {
  if (!isTlsCode(code)) return undefined;
  return { code: 'NECTAR_TLS', retryable: false, what: 'the TLS handshake failed' };
}

/**
 * A proxy that refuses a request surfaces in undici without a code of its own: a refused CONNECT
 * as a RequestAbortedError ("Proxy response (407) !== 200 when HTTP Tunneling"), a 407 to a
 * forwarded plain-http request as an InvalidArgumentError ("Proxy Authentication Required
 * (407)"). The status is read from the message, and an InvalidArgumentError without one stays
 * what it is. Our own cancels never reach here: the caller rethrows them before mapping.
 */
function proxyRefusal(code: string, message: string, context: FailureContext): Mapping | undefined {
  if (context.proxy === null || (code !== 'UND_ERR_ABORTED' && code !== 'UND_ERR_INVALID_ARG')) return undefined;
  const status = Number(/\((\d{3})\)/.exec(message)?.[1] ?? Number.NaN);
  if (Number.isNaN(status)) {
    return code === 'UND_ERR_ABORTED' ? { code: 'NECTAR_PROXY', retryable: false, what: 'the proxy refused the tunnel' } : undefined;
  }
  return {
    code: 'NECTAR_PROXY',
    // A gateway error may be the target's passing trouble; a 407 or 403 will not change.
    retryable: status === 502 || status === 503 || status === 504,
    what: status === 407 ? 'the proxy asks for other credentials (config.proxyUsername, config.proxyPassword)' : `the proxy answered ${status}`,
    details: { status },
  };
}

/** The error for a 407 answer: the proxy wants other credentials than config.proxyUsername/proxyPassword. */
export function proxyAuthError(context: FailureContext): NectarError {
  return new NectarError(
    'NECTAR_PROXY',
    `${redactUrl(context.url)}: the proxy asks for credentials (407); check config.proxyUsername and config.proxyPassword`,
    { details: { status: 407, statusText: 'Proxy Authentication Required', url: redactUrl(context.url), proxy: context.proxy && redactUrl(context.proxy) } },
  );
}
