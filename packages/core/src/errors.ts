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

const errnoCodes: Record<string, NectarErrorCode> = {
  ENOENT: 'NECTAR_NOT_FOUND',
  EACCES: 'NECTAR_PERMISSION',
  EPERM: 'NECTAR_PERMISSION',
  ECONNREFUSED: 'NECTAR_CONNECT',
  EHOSTUNREACH: 'NECTAR_CONNECT',
  ENETUNREACH: 'NECTAR_CONNECT',
  ENOTFOUND: 'NECTAR_CONNECT',
  EAI_AGAIN: 'NECTAR_CONNECT',
  ECONNRESET: 'NECTAR_NETWORK',
  EPIPE: 'NECTAR_NETWORK',
  ETIMEDOUT: 'NECTAR_TIMEOUT',
};

const transientErrno = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * Turns anything a backend or Node threw into a NectarError. Backends should throw
 * NectarErrors themselves; this is the safety net for the errors they did not foresee.
 */
export function toNectarError(error: unknown): NectarError {
  if (error instanceof NectarError) return error;
  const errno = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (typeof errno === 'string' && errno in errnoCodes) {
    return new NectarError(errnoCodes[errno]!, message, {
      cause: error,
      retryable: transientErrno.has(errno),
      details: { errno },
    });
  }
  return new NectarError('NECTAR_BACKEND', message, { cause: error });
}
