import type { DownloadReport } from '@nectar/core';

/**
 * The exit statuses of `nectar get`, one per cause of failure, numbered after wget's (3 file
 * I/O, 4 network, 5 TLS, 6 authentication, 7 protocol, 8 server error response) with not-found
 * and checksum mismatch added. Signals end with 128 + their number (signals.ts).
 */
export const EXIT = {
  ok: 0,
  /** A failure of no cause below: a bad URL in a list, a scheme nobody serves, a cancel. */
  failed: 1,
  usage: 2,
  /** Writing the file: it exists (without -f), a folder is not writable, the disk is full. */
  destination: 3,
  /** Connecting, the connection breaking, a timeout, a proxy that cannot reach the server. */
  network: 4,
  tls: 5,
  /** 401, 407, a permission refused by the server or the filesystem serving a file: URL. */
  auth: 6,
  /** Too many redirects or a loop, a resume the server broke, a file over --max-filesize. */
  protocol: 7,
  /** An error status other than 401, 404, 407, 410. */
  serverError: 8,
  /** 404, 410, a missing file: or sftp: path. */
  notFound: 9,
  /** --checksum, or the size the server announced, did not match. */
  checksum: 10,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

const byCode: Readonly<Partial<Record<string, ExitStatus>>> = {
  NECTAR_DESTINATION: EXIT.destination,
  NECTAR_DUPLICATE_DESTINATION: EXIT.destination,
  NECTAR_CONNECT: EXIT.network,
  NECTAR_NETWORK: EXIT.network,
  NECTAR_TIMEOUT: EXIT.network,
  NECTAR_PROXY: EXIT.network,
  NECTAR_TLS: EXIT.tls,
  NECTAR_AUTH: EXIT.auth,
  NECTAR_PERMISSION: EXIT.auth,
  NECTAR_REDIRECT_LOOP: EXIT.protocol,
  NECTAR_TOO_MANY_REDIRECTS: EXIT.protocol,
  NECTAR_RESUME: EXIT.protocol,
  NECTAR_MAX_FILE_SIZE: EXIT.protocol,
  NECTAR_NOT_FOUND: EXIT.notFound,
  NECTAR_DIGEST_MISMATCH: EXIT.checksum,
  NECTAR_SIZE_MISMATCH: EXIT.checksum,
};

/** The cause of one failed or canceled download, as an exit status. */
export function exitStatusOf(report: DownloadReport): ExitStatus {
  const { code, status } = report.errorReport;
  if (status === 401 || status === 407) return EXIT.auth;
  if (code === 'NECTAR_HTTP_STATUS') return status === 404 || status === 410 ? EXIT.notFound : EXIT.serverError;
  return (typeof code === 'string' ? byCode[code] : undefined) ?? EXIT.failed;
}

/**
 * The one status for several failures, whatever order they settled in: the lowest cause wins
 * (as in wget), and 1 only when no failure had a cause of its own.
 */
export function worstOf(a: ExitStatus, b: ExitStatus): ExitStatus {
  if (a === EXIT.ok || a === EXIT.failed) return b === EXIT.ok ? a : b;
  if (b === EXIT.ok || b === EXIT.failed) return a;
  return a < b ? a : b;
}
