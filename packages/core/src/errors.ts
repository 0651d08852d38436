/**
 * Every failure Nectar reports carries a stable `code`; callers branch on codes, never on text.
 * The table in README.md lists them.
 */
export type NectarErrorCode =
  | 'NECTAR_INVALID_ARGUMENT'
  | 'NECTAR_INVALID_CONFIG'
  | 'NECTAR_INVALID_REQUEST'
  | 'NECTAR_UNSUPPORTED_SCHEME'
  | 'NECTAR_NOT_SUPPORTED'
  | 'NECTAR_DUPLICATE_DESTINATION'
  | 'NECTAR_DESTINATION'
  | 'NECTAR_HTTP_STATUS'
  | 'NECTAR_NOT_FOUND'
  | 'NECTAR_PERMISSION'
  | 'NECTAR_AUTH'
  | 'NECTAR_CONNECT'
  | 'NECTAR_NETWORK'
  | 'NECTAR_TLS'
  | 'NECTAR_PROXY'
  | 'NECTAR_TIMEOUT'
  | 'NECTAR_REDIRECT_LOOP'
  | 'NECTAR_TOO_MANY_REDIRECTS'
  | 'NECTAR_SIZE_MISMATCH'
  | 'NECTAR_DIGEST_MISMATCH'
  | 'NECTAR_MAX_FILE_SIZE'
  | 'NECTAR_RESUME'
  | 'NECTAR_STATE_STORE'
  | 'NECTAR_REFUSED'
  | 'NECTAR_CANCELED'
  | 'NECTAR_CLOSED'
  | 'NECTAR_BACKEND';

export interface NectarErrorOptions {
  /** Whether trying the same request again may succeed (a reset, a 503), as opposed to a 404. */
  retryable?: boolean;
  cause?: unknown;
  /** Extra fields copied into the report's `errorReport` (status, url, expected, actual …). */
  details?: Record<string, unknown>;
}

export class NectarError extends Error {
  readonly code: NectarErrorCode;
  readonly retryable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: NectarErrorCode, message: string, options: NectarErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'NectarError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.details = options.details ?? {};
  }
}

/** Misuse of the API itself: thrown, never turned into a failed report. */
export class NectarArgumentError extends NectarError {
  constructor(message: string, code: 'NECTAR_INVALID_ARGUMENT' | 'NECTAR_INVALID_CONFIG' = 'NECTAR_INVALID_ARGUMENT') {
    super(code, message);
    this.name = 'NectarArgumentError';
  }
}

export function isNectarError(value: unknown): value is NectarError {
  return value instanceof NectarError;
}

/** What an error code means for a download, whatever the transport that raised it. */
export interface ErrorCodeClass {
  readonly code: NectarErrorCode;
  readonly retryable: boolean;
  /** A few words for a message: "the connection was reset". */
  readonly what: string;
  /** Fields added to the errorReport (`timeout` for a timeout). */
  readonly details?: Readonly<Record<string, unknown>>;
}

const connect = (what: string, retryable = true): ErrorCodeClass => ({ code: 'NECTAR_CONNECT', retryable, what });
const network = (what: string): ErrorCodeClass => ({ code: 'NECTAR_NETWORK', retryable: true, what });

/** Node's errno codes (fs, net, dns) and the stream codes it raises under any transport. */
const codeClasses: Readonly<Record<string, ErrorCodeClass>> = {
  ENOENT: { code: 'NECTAR_NOT_FOUND', retryable: false, what: 'no such file or directory' },
  EACCES: { code: 'NECTAR_PERMISSION', retryable: false, what: 'permission denied' },
  EPERM: { code: 'NECTAR_PERMISSION', retryable: false, what: 'operation not permitted' },
  ECONNREFUSED: connect('the connection was refused'),
  EHOSTUNREACH: connect('the host is unreachable'),
  ENETUNREACH: connect('the network is unreachable'),
  EAI_AGAIN: connect('the host name could not be resolved right now'),
  // A name that does not resolve rarely starts resolving within a retry's delay.
  ENOTFOUND: connect('the host name does not resolve', false),
  ECONNRESET: network('the connection was reset'),
  ECONNABORTED: network('the connection was aborted'),
  EPIPE: network('the connection was closed'),
  ERR_STREAM_PREMATURE_CLOSE: network('the body ended early'),
  // node:http2: the server reset one stream (RST_STREAM), or its whole session went away.
  ERR_HTTP2_STREAM_ERROR: network('the server reset the HTTP/2 stream'),
  ERR_HTTP2_SESSION_ERROR: network('the HTTP/2 session failed'),
  ERR_HTTP2_GOAWAY_SESSION: network('the server closed the HTTP/2 session (GOAWAY)'),
  ERR_HTTP2_STREAM_CANCEL: network('the HTTP/2 stream was canceled'),
  // The OS gives up on a connect that nobody answers.
  ETIMEDOUT: { code: 'NECTAR_TIMEOUT', retryable: true, what: 'the connection timed out', details: { timeout: 'connect' } },
};

/**
 * Certificate verification and handshake failures: retrying cannot fix them, the config can.
 * OpenSSL's verify codes have no common prefix; Node's own TLS/OpenSSL codes do. EPROTO is what
 * a handshake with something that does not speak TLS (an http port asked in https) ends with.
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
const tlsFailure: ErrorCodeClass = { code: 'NECTAR_TLS', retryable: false, what: 'the TLS handshake failed' };

// llhttp's parse errors: the peer does not speak HTTP/1.1 (an https port asked in http).
const notHttp: ErrorCodeClass = { code: 'NECTAR_NETWORK', retryable: false, what: 'the response is not valid HTTP' };

/**
 * The one table of generic error codes every backend shares: errno, DNS, TLS and HTTP-parser
 * codes. A backend maps its own library's codes first and asks here for the rest.
 */
export function classifyErrorCode(code: string): ErrorCodeClass | undefined {
  if (Object.hasOwn(codeClasses, code)) return codeClasses[code];
  if (tlsCodes.has(code) || tlsPrefixes.some((prefix) => code.startsWith(prefix))) return tlsFailure;
  if (code.startsWith('HPE_')) return notHttp;
  return undefined;
}

/**
 * The `code` of an error or of the errors it wraps: HTTP clients (axios) wrap Node's error and
 * may copy its code or leave it on the cause. The outermost code wins.
 */
export function errorCodeOf(error: unknown): string | undefined {
  let current = error;
  for (let depth = 0; depth < 3 && typeof current === 'object' && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Turns anything a backend or Node threw into a NectarError. Backends should throw
 * NectarErrors themselves; this is the safety net for the errors they did not foresee.
 */
export function toNectarError(error: unknown): NectarError {
  if (error instanceof NectarError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = errorCodeOf(error);
  const known = errno === undefined ? undefined : classifyErrorCode(errno);
  if (known !== undefined) {
    return new NectarError(known.code, message, { cause: error, retryable: known.retryable, details: { ...known.details, errno } });
  }
  return new NectarError('NECTAR_BACKEND', message, { cause: error });
}
