import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NectarError, redactUrl } from '@nectar/core';

/** The local path a file: URL names; only the local host is ours to read. */
export function sourcePath(url: URL): string {
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new NectarError('NECTAR_NOT_SUPPORTED', `file URL ${redactUrl(url)} names host ${url.hostname}; only local files (file:///path) can be read`, {
      details: { host: url.hostname },
    });
  }
  return fileURLToPath(url);
}

/** An open source file: every read, stat and copy goes through this one descriptor, never the path again. */
export interface Source {
  readonly path: string;
  /** A plain descriptor, not a FileHandle: no object for the GC to track per file, closed by `closeSource`. */
  readonly fd: number;
  /** fstat() at open: what "unchanged" is measured against. */
  readonly info: Stats;
  /** The bytes it holds, or null when stat cannot tell (a /proc file stats at 0 yet has content). */
  readonly size: number | null;
}

/**
 * O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever, on a libuv
 * thread; on a regular file the flag changes nothing. O_NOCTTY: a terminal never becomes ours.
 */
const READ = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Opens a source that must be a readable regular file, with errors a report can carry. stat()
 * first, because opening a device can act (a tape rewinds, a watchdog arms); fstat() after, on
 * the descriptor every read will use, because the name may have been swapped in between.
 * Synchronous: on a local file each call takes microseconds, and through libuv's thread pool
 * the hops cost several times the calls themselves — most of a small file's copy.
 */
export function openSource(path: string): Source {
  const named = statOrThrow(path);
  if (!named.isFile()) throw notAFile(path, named);
  let fd: number;
  try {
    fd = openSync(path, READ);
  } catch (error) {
    throw openError(path, error);
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) throw notAFile(path, info);
    return { path, fd, info, size: sizeOf(path, fd, info) };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Closes what openSource opened; a failing close loses nothing of a file only read. */
export function closeSource(source: Source): void {
  try {
    closeSync(source.fd);
  } catch {
    // Nothing was written through it.
  }
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (error) {
    throw openError(path, error);
  }
}

function openError(path: string, error: unknown): NectarError {
  const errno = (error as NodeJS.ErrnoException).code;
  const code = errno === 'EACCES' || errno === 'EPERM' ? 'NECTAR_PERMISSION' : 'NECTAR_NOT_FOUND';
  return new NectarError(code, `cannot read ${path}: ${(error as Error).message}`, { cause: error, details: { path, errno } });
}

/** What a source that is not a regular file is, for the message. */
const kinds: readonly [(info: Stats) => boolean, string][] = [
  [(info) => info.isDirectory(), 'a directory'],
  [(info) => info.isFIFO(), 'a FIFO'],
  [(info) => info.isCharacterDevice(), 'a character device'],
  [(info) => info.isBlockDevice(), 'a block device'],
  [(info) => info.isSocket(), 'a socket'],
];

// Devices such as /dev/zero never end, and FIFOs or sockets have no size to check a copy against.
function notAFile(path: string, info: Stats): NectarError {
  const kind = kinds.find(([is]) => is(info))?.[1] ?? 'not a regular file';
  return new NectarError('NECTAR_NOT_FOUND', `${path} is ${kind}; only regular files can be downloaded`, { details: { path, reason: 'not-a-file' } });
}

/**
 * stat's size, unless it is 0: kernel files (/proc/self/status, /proc/cpuinfo) stat at 0 bytes and
 * still read content, so one byte read tells them from an empty file.
 */
function sizeOf(path: string, fd: number, info: Stats): number | null {
  if (info.size > 0) return info.size;
  try {
    return readSync(fd, Buffer.alloc(1), 0, 1, 0) === 0 ? 0 : null;
  } catch (error) {
    throw readError(path, error);
  }
}

/** A read of the source failed (EIO, /proc/self/mem …): the file, not the destination, is at fault. */
export function readError(path: string, error: unknown): NectarError {
  if (error instanceof NectarError) return error;
  const errno = (error as NodeJS.ErrnoException).code;
  return new NectarError('NECTAR_BACKEND', `cannot read ${path}: ${(error as Error).message}`, { cause: error, details: { path, errno } });
}

/**
 * Which version of a file a partial copy holds: another file in its place (another inode), or the
 * same one written (size, mtime, or ctime — which its writer cannot set back, as `cp -p`,
 * `rsync -t` or `touch -r` set back the mtime) cannot be continued.
 */
export function validatorOf(info: Stats): string {
  return `${info.dev}-${info.ino}-${info.size}-${info.mtimeMs}-${info.ctimeMs}`;
}

/**
 * The source is still the file that was opened, as it was: checked after every block read, so
 * that no block of another version is written — a split file's segments end by their own
 * limits, and the last one to finish would otherwise never look. A writer moves the mtime as it
 * writes, so a block read with new bytes is caught — unless the write fell within the same
 * timestamp tick as the open (coarse clocks, FAT's 2 s), which stat cannot tell.
 */
export function checkUnchanged(source: Source): void {
  const now = fstatSync(source.fd);
  const { info, path } = source;
  if (now.size !== info.size || now.mtimeMs !== info.mtimeMs || now.ctimeMs !== info.ctimeMs) {
    throw new NectarError('NECTAR_SIZE_MISMATCH', `${path} changed while it was copied (${info.size} bytes when opened, ${now.size} now)`, {
      retryable: true,
      details: { path, reason: 'source-changed', expected: info.size, actual: now.size },
    });
  }
}

/**
 * After a copy of `copied` bytes: the source must still be the file that was opened, whole. A
 * file written meanwhile (size, mtime or ctime moved — ctime cannot be set back by its writer)
 * gives a torn copy, worth another try; one that read short without changing has a made-up size
 * (sysfs stats at 4096 bytes), which no retry mends.
 */
export function checkCopied(source: Source, copied: number): void {
  checkUnchanged(source);
  const { path } = source;
  if (source.size !== null && copied !== source.size) {
    throw new NectarError('NECTAR_SIZE_MISMATCH', `${path} stats at ${source.size} bytes but reads ${copied} without changing: a kernel file whose size is made up`, {
      details: { path, reason: 'short-read', expected: source.size, actual: copied },
    });
  }
}
