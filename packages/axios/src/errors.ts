import { NectarError, type NectarErrorCode, redactUrl, toNectarError } from '@nectar/core';

/** Where a failure happened, for a message and an errorReport that name it. */
export interface FailureContext {
  /** The URL being fetched when it failed (after any redirects). */
  url: URL;
  /** The proxy the request goes through, if any. */
  readonly proxy: URL | null;
}

export type TimeoutPhase = 'connect' | 'headers' | 'body';

const timeoutWhat: Readonly<Record<TimeoutPhase, { field: string; what: string }>> = {
  connect: { field: 'connectTimeout', what: 'no connection within' },
  headers: { field: 'headersTimeout', what: 'no response headers within' },
  body: { field: 'bodyTimeout', what: 'the body stalled for longer than' },
};

/** One of our own three timers fired; retrying may well succeed. */
export function timeoutError(phase: TimeoutPhase, ms: number, url: URL): NectarError {
  const { field, what } = timeoutWhat[phase];
  return new NectarError('NECTAR_TIMEOUT', `${redactUrl(url)}: ${what} config.${field} (${ms} ms)`, {
    retryable: true,
    details: { timeout: phase, ms, url: redactUrl(url) },
  });
}

interface Mapping {
  readonly code: NectarErrorCode;
  readonly retryable: boolean;
  readonly what: string;
}

/**
 * Codes Node's http client and axios raise that core's errno table does not know. ECONNABORTED
 * is axios' own code for its `timeout` (which we leave off) and for a socket closed mid-request.
 */
const mappings: Readonly<Record<string, Mapping>> = {
  ECONNRESET: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was reset' },
  ECONNABORTED: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was aborted' },
  EPIPE: { code: 'NECTAR_NETWORK', retryable: true, what: 'the connection was closed' },
  ERR_STREAM_PREMATURE_CLOSE: { code: 'NECTAR_NETWORK', retryable: true, what: 'the body ended early' },
  ETIMEDOUT: { code: 'NECTAR_TIMEOUT', retryable: true, what: 'the connection timed out' },
  ECONNREFUSED: { code: 'NECTAR_CONNECT', retryable: true, what: 'the connection was refused' },
  EHOSTUNREACH: { code: 'NECTAR_CONNECT', retryable: true, what: 'the host is unreachable' },
  ENETUNREACH: { code: 'NECTAR_CONNECT', retryable: true, what: 'the network is unreachable' },
  EAI_AGAIN: { code: 'NECTAR_CONNECT', retryable: true, what: 'the host name could not be resolved right now' },
  // A name that does not exist will not exist a second later either.
  ENOTFOUND: { code: 'NECTAR_CONNECT', retryable: false, what: 'the host name does not resolve' },
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
  'EPROTO',
]);
const tlsPrefixes = ['CERT_', 'ERR_TLS_', 'ERR_SSL_', 'ERR_OSSL_'];

function mappingOf(code: string): Mapping | undefined {
  if (tlsCodes.has(code) || tlsPrefixes.some((prefix) => code.startsWith(prefix))) {
    return { code: 'NECTAR_TLS', retryable: false, what: 'the TLS handshake failed' };
  }
  // llhttp's parse errors: the peer does not speak HTTP/1.1 (an https port asked in http).
  if (code.startsWith('HPE_')) return { code: 'NECTAR_NETWORK', retryable: false, what: 'the response is not valid HTTP' };
  return mappings[code];
}

/** axios wraps Node's error in an AxiosError that copies its code; the cause keeps the original. */
function codeOf(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; typeof e === 'object' && e !== null && depth < 3; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/**
 * Turns what axios or Node threw during one transfer into a NectarError with a stable code and a
 * retryable flag. NectarErrors (HTTP status, redirects, our timeouts) pass through as they are.
 */
export function transferError(error: unknown, context: FailureContext): NectarError {
  if (error instanceof NectarError) return error;
  const code = codeOf(error);
  const mapping = code === undefined ? undefined : mappingOf(code);
  if (mapping === undefined) return toNectarError(error);
  const message = error instanceof Error ? error.message : String(error);
  const via = context.proxy === null ? '' : ` via proxy ${redactUrl(context.proxy)}`;
  const details: Record<string, unknown> = { url: redactUrl(context.url), errno: code };
  if (context.proxy !== null) details.proxy = redactUrl(context.proxy);
  return new NectarError(mapping.code, `${redactUrl(context.url)}${via}: ${mapping.what} (${message})`, {
    retryable: mapping.retryable,
    cause: error,
    details,
  });
}

/**
 * The proxy refused us: a 407 (wrong or missing credentials), or any other answer to CONNECT,
 * which https-proxy-agent replays to the HTTP parser as if the target had sent it.
 */
export function proxyRefusal(status: number, statusText: string, context: FailureContext): NectarError {
  const what = status === 407 ? 'the proxy asks for other credentials (check config.proxyUsername and config.proxyPassword)' : `the proxy refused the tunnel with ${status}`;
  return new NectarError('NECTAR_PROXY', `${redactUrl(context.url)}: ${what}`, {
    // A gateway error may be the target's passing trouble; a 407 or 403 will not change.
    retryable: status === 502 || status === 503 || status === 504,
    details: { status, statusText, url: redactUrl(context.url), proxy: context.proxy && redactUrl(context.proxy) },
  });
}
