import { pipeline } from 'node:stream/promises';
import type { ParsedKey } from 'ssh2';
import type { TransferJob } from '@nectar/core/backend';
import { SftpConnection } from './connection.js';
import { bodyTimeoutError, changedError, fileError, headersTimeoutError, notAFileError, shortReadError } from './errors.js';
import { type HostKeyPolicy, hostKeyCheck } from './host-key.js';
import { type SftpOptions, rejectTlsOnlyFields } from './options.js';
import type { ConnectionPool } from './pool.js';
import { RemoteFileReader, closeQuietly, openRemoteFile } from './remote-file.js';
import { type SftpTarget, sftpTarget } from './target.js';

/**
 * OpenSSH's sftp-server answers at most 255 KiB per read; 8 of those in flight fill ssh2's 2 MiB
 * channel window. Measured on loopback (bench/), larger reads beat deeper queues of small ones.
 */
const readChunk = 255 * 1024;
const readDepth = 8;

/** What an opened backend holds, built once from its downloader's config. */
export interface Opened {
  readonly ssh: SftpOptions;
  readonly hostKeys: HostKeyPolicy;
  /** Decrypted once at open, in the order logins try them. */
  readonly privateKeys: readonly ParsedKey[];
  readonly pool: ConnectionPool;
}

/** One attempt: leases a pooled connection to the host and streams the file into the sink. */
export async function transfer(opened: Opened, job: TransferJob): Promise<void> {
  rejectTlsOnlyFields(job.config);
  const target = sftpTarget(job.url, job.config);
  // Our own view of the job's signal: core shares that one among every request in flight, so
  // listeners added to it directly pile up past Node's warning threshold.
  const signal = AbortSignal.any([job.signal]);
  const lease = await opened.pool.lease(target.key, () => connect(opened, target, job), signal);
  try {
    await receive(lease.connection, target, job, signal);
  } catch (error) {
    // A cancel or a whole-request timeout: core recognises its own abort and reports it.
    if (job.signal.aborted) throw error;
    throw fileError(error, job.url, lease.connection.lost);
  } finally {
    lease.release();
  }
}

function connect({ ssh, hostKeys, privateKeys }: Opened, target: SftpTarget, job: TransferJob): Promise<SftpConnection> {
  return SftpConnection.open({
    url: target.server,
    host: target.host,
    port: target.port,
    username: target.username,
    password: target.password,
    privateKeys,
    agent: ssh.agent,
    readyTimeout: job.config.connectTimeout,
    hostKey: hostKeyCheck(hostKeys, target.host, target.port),
  });
}

/** Opens and stats the file, tells core its size, then streams it into the sink. */
async function receive(connection: SftpConnection, target: SftpTarget, job: TransferJob, signal: AbortSignal): Promise<void> {
  const { sftp } = connection;
  const { handle, stats, size } = await opened(connection, target, job, signal);
  let reader: RemoteFileReader | undefined;
  try {
    if (!stats.isFile()) throw notAFileError(job.url);
    // Size and mtime change when the file is replaced: a resume continues only the same file.
    // A file of unknown size has nothing to check a partial copy against: it never resumes.
    const validator = size === null ? null : `${stats.size}:${stats.mtime}`;
    const resumed = job.offset > 0 && validator !== null && job.offset <= stats.size && job.validator === validator;
    await job.responded({ totalBytes: size, resumed, validator });
    const { bodyTimeout } = job.config;
    reader = new RemoteFileReader(sftp, handle, {
      start: resumed ? job.offset : 0,
      end: size ?? Number.POSITIVE_INFINITY,
      chunkSize: readChunk,
      depth: readDepth,
      connectionLost: connection.lostSignal,
      idleTimeout: bodyTimeout,
      onIdleTimeout: () => bodyTimeoutError(job.url, bodyTimeout),
      checkEnd: (now, position) => changedError(job.url, stats, now) ?? (size !== null && position !== size ? shortReadError(job.url, size, position) : null),
    });
  } catch (error) {
    closeQuietly(sftp, handle);
    throw error;
  }
  // No { signal } here: core destroys the sink on abort, and pipeline passes that on to the reader.
  await pipeline(reader, job.sink);
}

/**
 * open + fstat, bounded by config.headersTimeout, the job's signal and the connection's life;
 * a handle that arrives too late is closed.
 */
async function opened(connection: SftpConnection, target: SftpTarget, job: TransferJob, signal: AbortSignal): ReturnType<typeof openRemoteFile> {
  const { sftp, lostSignal } = connection;
  signal.throwIfAborted();
  lostSignal.throwIfAborted();
  const opening = openRemoteFile(sftp, target.path);
  const ms = job.config.headersTimeout;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (ms > 0) timer = setTimeout(() => reject(headersTimeoutError(job.url, ms)), ms);
    onAbort = () => reject(signal.aborted ? signal.reason : lostSignal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    lostSignal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([opening, stop]);
  } catch (error) {
    opening.then(({ handle }) => closeQuietly(sftp, handle), () => {});
    throw error;
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) {
      signal.removeEventListener('abort', onAbort);
      lostSignal.removeEventListener('abort', onAbort);
    }
  }
}
