import { type ErrorCodeClass, NectarError, classifyErrorCode, redactUrl } from '@nectar/core/backend';
import type { Stats } from 'ssh2';
import type { HostKeyRejection } from './host-key.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) that ssh2 puts on `error.code`. */
const SFTP_NO_SUCH_FILE = 2;
const SFTP_PERMISSION_DENIED = 3;

/** ssh2 tags the errors of its connect phase with a `level`; they have no errno of their own. */
const levels: Readonly<Record<string, ErrorCodeClass>> = {
  'client-authentication': {
    code: 'NECTAR_AUTH',
    retryable: false,
    what: 'the server rejected every login method tried (check the user name, password, config.sshPrivateKey or config.sshAgent)',
  },
  'client-timeout': {
    code: 'NECTAR_TIMEOUT',
    retryable: true,
    what: 'no SSH session within config.connectTimeout',
    details: { timeout: 'connect' },
  },
  // Key exchange: no common algorithm, a bad signature. The config or the server must change.
  handshake: { code: 'NECTAR_TLS', retryable: false, what: 'the SSH handshake failed' },
  protocol: { code: 'NECTAR_TLS', retryable: false, what: 'the server broke the SSH protocol' },
};

function field(error: unknown, name: 'code' | 'level'): unknown {
  return typeof error === 'object' && error !== null ? (error as Record<string, unknown>)[name] : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * The error for a connection that could not be set up. `rejection` is what the host-key check
 * said, if it refused the server: ssh2 reports that only as a generic handshake failure.
 */
export function connectError(error: unknown, url: URL, rejection: HostKeyRejection | undefined): NectarError {
  if (error instanceof NectarError) return error;
  if (rejection !== undefined) return hostKeyError(url, rejection, error);
  const code = field(error, 'code');
  const level = field(error, 'level');
  // errno codes from the TCP connect that ssh2 passes through (its `level` is 'client-socket') mean
  // what they mean under any transport: core's one table says it.
  const mapping = (typeof code === 'string' ? classifyErrorCode(code) : undefined) ?? (typeof level === 'string' ? levels[level] : undefined);
  if (mapping === undefined) {
    return new NectarError('NECTAR_NETWORK', `${redactUrl(url)}: the SSH connection failed (${messageOf(error)})`, {
      retryable: true,
      cause: error,
      details: sshDetails(code, level),
    });
  }
  return new NectarError(mapping.code, `${redactUrl(url)}: ${mapping.what} (${messageOf(error)})`, {
    retryable: mapping.retryable,
    cause: error,
    details: { ...mapping.details, ...sshDetails(code, level) },
  });
}

function sshDetails(code: unknown, level: unknown): Record<string, unknown> {
  const details: Record<string, unknown> = {};
  if (code !== undefined) details.errno = code;
  if (level !== undefined) details.sshLevel = level;
  return details;
}

const hostKeyAdvice: Readonly<Record<HostKeyRejection['reason'], string>> = {
  'host-key-unknown': 'is not in the known_hosts files; add it (ssh-keyscan), pin it with config.sshHostKeyFingerprint, or set config.sslValidation: false',
  'host-key-mismatch': 'does not match the key known_hosts holds for this host: the server changed its key, or someone is in the middle',
  'host-key-revoked': 'is marked @revoked in known_hosts',
  'host-key-fingerprint': 'is not config.sshHostKeyFingerprint',
};

/**
 * Host-key verification is SSH's counterpart of certificate verification, so it shares
 * NECTAR_TLS (and `sslValidation: false` turns both off); `reason` says which check failed.
 */
export function hostKeyError(url: URL, rejection: HostKeyRejection, cause?: unknown): NectarError {
  return new NectarError('NECTAR_TLS', `${redactUrl(url)}: the server's host key ${rejection.fingerprint} ${hostKeyAdvice[rejection.reason]}`, {
    retryable: false,
    cause,
    details: { reason: rejection.reason, fingerprint: rejection.fingerprint, hostKeyType: rejection.keyType },
  });
}

/**
 * The error for a failed file operation. `connectionLost` tells a broken session (worth a retry,
 * which resumes) from an answer of the server about the file (not worth one).
 */
export function fileError(error: unknown, url: URL, connectionLost: boolean): NectarError {
  if (error instanceof NectarError) return error;
  const code = field(error, 'code');
  const where = redactUrl(url);
  if (code === SFTP_NO_SUCH_FILE) {
    return new NectarError('NECTAR_NOT_FOUND', `${where}: no such file on the server`, { cause: error, details: { sftpStatus: code } });
  }
  if (code === SFTP_PERMISSION_DENIED) {
    return new NectarError('NECTAR_PERMISSION', `${where}: the server denied read access`, { cause: error, details: { sftpStatus: code } });
  }
  if (connectionLost) {
    return new NectarError('NECTAR_NETWORK', `${where}: the SSH connection was lost (${messageOf(error)})`, { retryable: true, cause: error });
  }
  return new NectarError('NECTAR_BACKEND', `${where}: ${messageOf(error)}`, {
    cause: error,
    details: typeof code === 'number' ? { sftpStatus: code } : {},
  });
}

export function notAFileError(url: URL): NectarError {
  return new NectarError('NECTAR_NOT_FOUND', `${redactUrl(url)} is not a regular file (a folder, a device or a socket)`, {
    details: { reason: 'not-a-file' },
  });
}

export function bodyTimeoutError(url: URL, ms: number): NectarError {
  return new NectarError('NECTAR_TIMEOUT', `${redactUrl(url)}: the server sent no data for config.bodyTimeout (${ms} ms)`, {
    retryable: true,
    details: { timeout: 'body', ms },
  });
}

export function headersTimeoutError(url: URL, ms: number): NectarError {
  return new NectarError('NECTAR_TIMEOUT', `${redactUrl(url)}: the server did not open the file within config.headersTimeout (${ms} ms)`, {
    retryable: true,
    details: { timeout: 'headers', ms },
  });
}

/**
 * The file's size or mtime moved while it was read: the bytes are a torn mix of two versions.
 * A retry starts over (the validator changed). SFTP gives mtime in whole seconds, so a rewrite
 * of the same size within the second of the open goes unseen.
 */
export function changedError(url: URL, opened: Stats, now: Stats): NectarError | null {
  if (now.size === opened.size && now.mtime === opened.mtime) return null;
  return new NectarError('NECTAR_SIZE_MISMATCH', `${redactUrl(url)} changed on the server while it was read (${opened.size} bytes when opened, ${now.size} now)`, {
    retryable: true,
    details: { reason: 'source-changed', expected: opened.size, actual: now.size },
  });
}

/** Read short of its size without changing: a size that is made up (a sysfs file), which no retry mends. */
export function shortReadError(url: URL, size: number, position: number): NectarError {
  return new NectarError('NECTAR_SIZE_MISMATCH', `${redactUrl(url)} stats at ${size} bytes but the server ended it at ${position} without it changing`, {
    details: { reason: 'short-read', expected: size, actual: position },
  });
}
