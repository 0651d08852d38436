import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type Stats, closeSync, constants, fstatSync, linkSync, lstatSync, fsync, ftruncateSync, openSync, read, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { NectarError } from '../errors.js';
import { destinationError } from './destination-error.js';
import { acquireLock, releaseLock } from './part-owner.js';
import { byteLength, writeAt } from './part-writer.js';

export { destinationError };

/**
 * Where one request's bytes land. A path is written atomically through a part file beside it;
 * a caller's stream is written to and never ended or destroyed.
 */
export interface DestinationWriter {
  /** The part file a backend may write itself, or null for a stream. */
  readonly tempPath: string | null;
  /** Bytes already in the destination: what a resume continues from. */
  readonly size: number;
  /**
   * Writes every chunk: a file at once (a failure throws), a stream with a promise when it must
   * be waited for (it does not drain), until `signal` aborts.
   */
  write(chunks: readonly Uint8Array[], signal?: AbortSignal): void | Promise<void>;
  /** Reads back the first `end` bytes written (a kept part file's digest); nothing for a stream. */
  read(end?: number): AsyncIterable<Uint8Array>;
  /** The validator a kept part file was saved with: a new run resumes with it. */
  readonly resumeValidator: string | null;
  /** Drops what was written so the next attempt starts from byte 0; impossible for a stream that got bytes. */
  restart(): Promise<void>;
  /** Account for bytes a backend wrote to tempPath itself. */
  grew(bytes: number): void;
  /** A backend replaced the part file (with a link): what lstat() of the new one shows. */
  replaced(identity: FileIdentity): void;
  commit(options: { fsync: boolean }): Promise<void>;
  /** Gives up; `keep` (with a validator) leaves the part file and its sidecar for a later run. */
  abandon(keep?: { validator: string; total: number | null }): Promise<void>;
  /**
   * Writes the part file's sidecar now, not at abandon: if the process dies mid-body, the next run
   * resumes what reached the disk. Removed again on commit and on an abandon that keeps nothing.
   */
  vouch?(keep: { validator: string; total: number | null }): void;
  /** Takes the vouch back: the part file is no longer a prefix of the file (core split it into segments). */
  unvouch?(): void;
  /** Commits to `path` instead of the destination (config.afterHeaders chose another name). */
  /** Commit elsewhere; `replace: false` never replaces a file that is there by then (NECTAR_DESTINATION). */
  retarget?(path: string, options?: { replace?: boolean }): void;
  /** The whole file's size a kept part file was saved with, or null. */
  readonly resumeTotal: number | null;
}

/** Which file a name leads to, as lstat() tells: the same device and inode are the same file. */
export interface FileIdentity {
  readonly dev: number;
  readonly ino: number;
}

export function partPath(destination: string): string {
  return join(dirname(destination), `.${basename(destination)}.nectar-part`);
}

/**
 * Whether a file name is one of ours beside a destination: a part file, its keepPartial sidecar
 * or its lock. A name chosen from the network must never pose as one.
 */
export function isPartFileName(name: string): boolean {
  return /\.nectar-part(?:\.json|\.lock)?$/i.test(name);
}

/**
 * Beside a kept part file (keepPartial): what it is a part of, so that a later run only resumes
 * the same thing. The URL is kept as a digest: a file on disk must not hold a URL's secrets.
 */
interface PartSidecar {
  urlDigest: string;
  validator: string;
  total: number | null;
  /**
   * The part file it vouches for: a sidecar outlives its part file (a kill between the rename and
   * the sidecar's removal, a part removed by hand), and must not vouch for the next one there.
   */
  part: PartIdentity;
}

/** A file's identity, birth time included: an inode number alone is reused once its file is gone. */
interface PartIdentity {
  dev: number;
  ino: number;
  birth: number;
}

function partIdentity(stat: Stats): PartIdentity {
  return { dev: stat.dev, ino: stat.ino, birth: stat.birthtimeMs };
}

/** A sidecar is a few hundred bytes: anything larger was not written by us. */
const SIDECAR_MAX_BYTES = 4096;

export function sidecarPath(destination: string): string {
  return `${partPath(destination)}.json`;
}

/** Create only, never through a symlink: a planted link must not redirect our writes. */
const CREATE = constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const REOPEN = constants.O_RDWR | constants.O_NOFOLLOW;

function urlDigest(url: string): string {
  return createHash('sha256').update(url).digest('hex');
}

/**
 * The sidecar of the part file `part` (fstat of our descriptor), or null. Only a plain file of
 * ours is read: a neighbour's could vouch for bytes of another file, and opening a FIFO planted
 * in its place would block the whole process (O_NONBLOCK: the open returns at once, and fstat
 * refuses it).
 */
function readSidecar(destination: string, part: Stats): PartSidecar | null {
  try {
    const fd = openSync(sidecarPath(destination), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    let text: string;
    try {
      const stat = fstatSync(fd);
      if (!isOwnPlainFile(stat) || stat.size > SIDECAR_MAX_BYTES) return null;
      text = readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
    const sidecar = JSON.parse(text) as Partial<PartSidecar>;
    if (typeof sidecar.urlDigest !== 'string' || typeof sidecar.validator !== 'string' || !isSamePart(sidecar.part, part)) return null;
    return { urlDigest: sidecar.urlDigest, validator: sidecar.validator, total: typeof sidecar.total === 'number' ? sidecar.total : null, part: sidecar.part };
  } catch {
    return null;
  }
}

function isSamePart(vouched: PartIdentity | undefined, part: Stats): vouched is PartIdentity {
  // Strict on purpose: where no birth time is known (no statx: WSL1, Linux before 4.11) libuv
  // reports the ctime, which every write moves, and a kept part is then fetched again rather
  // than trusted on an inode number that may have been reused.
  return typeof vouched === 'object' && vouched !== null && vouched.dev === part.dev && vouched.ino === part.ino && vouched.birth === part.birthtimeMs;
}

export interface AtomicFileOptions {
  /** The URL being downloaded: a kept part file is resumed only for the same one. */
  url?: string;
}

/** What a resumed part file continues: its size, and the validator and total it was kept with. */
interface Kept {
  size: number;
  validator: string | null;
  total: number | null;
}

const fresh: Kept = { size: 0, validator: null, total: null };

/**
 * A path destination, written through `.<name>.nectar-part` beside it and renamed into place.
 * The part file is created exclusively and never through a symlink, under a lock that names this
 * process (part-owner.ts): a part file left by a dead run is recovered, one a live run writes is
 * refused, and one this process did not create itself is only resumed when it is a plain file of
 * ours that a sidecar vouches for.
 *
 * Every call but fsync is synchronous: open, write, rename and unlink of a file on a local disk
 * take microseconds each, several times less than their hops through libuv's thread pool — the
 * bulk of a small file's cost. fsync, which can take seconds, stays asynchronous.
 */
export class AtomicFile implements DestinationWriter {
  readonly destination: string;
  readonly tempPath: string;
  readonly resumeValidator: string | null;
  /** The whole file's size the kept part was saved with, or null. */
  readonly resumeTotal: number | null;
  readonly #url: string | undefined;
  #fd: number | null;
  #size: number;
  /** What the part file is when a backend replaced it (a link); else the file we opened. */
  #identity: FileIdentity | null = null;
  /** The replacement opened for reading (a digest, fsync), once: the descriptor we wrote through holds nothing. */
  #replacement: number | null = null;
  #vouched = false;
  /** Where commit() puts the file: the destination, unless retargeted. */
  #target: string;
  /** false: the target is taken only if nothing is there (a hard link, which fails rather than replace). */
  #replace = true;

  private constructor(destination: string, tempPath: string, fd: number, url: string | undefined, kept: Kept = fresh) {
    this.destination = destination;
    this.#target = destination;
    this.#url = url;
    this.tempPath = tempPath;
    this.#fd = fd;
    this.#size = kept.size;
    this.resumeValidator = kept.validator;
    this.resumeTotal = kept.total;
  }

  static async open(destination: string, options: AtomicFileOptions = {}): Promise<AtomicFile> {
    return AtomicFile.openSync(destination, options);
  }

  static openSync(destination: string, options: AtomicFileOptions = {}): AtomicFile {
    // No stat() of the destination first: on the common path it fails with ENOENT, and that
    // error (with its stack) costs more than the rest of opening. A folder is caught at rename.
    const temp = partPath(destination);
    const previous = lockFor(destination, temp);
    try {
      const created = previous === 'free' ? createExclusive(temp) : null;
      if (created !== null) return new AtomicFile(destination, temp, created, options.url);
      // A part file is there with no live owner: kept on purpose, or left by a killed run.
      return AtomicFile.#recover(destination, temp, options);
    } catch (error) {
      releaseLock(temp);
      throw destinationError(destination, error, 'write to');
    }
  }

  /**
   * Resumes a part file that a sidecar vouches for (same URL, a validator) when it is a plain
   * file of ours; anything else there (a symlink, a hard link, another user's file, a part
   * without sidecar) is removed and the download starts afresh.
   */
  static #recover(destination: string, temp: string, options: AtomicFileOptions): AtomicFile {
    const fd = quietly(() => openSync(temp, REOPEN));
    const stat = fd === undefined ? undefined : fstatSync(fd);
    const sidecar = stat === undefined ? null : readSidecar(destination, stat);
    quietly(() => unlinkSync(sidecarPath(destination)));
    if (fd !== undefined && stat !== undefined) {
      if (isOwnPlainFile(stat)) {
        if (sidecar !== null && options.url !== undefined && sidecar.urlDigest === urlDigest(options.url)) {
          return new AtomicFile(destination, temp, fd, options.url, { size: stat.size, validator: sidecar.validator, total: sidecar.total });
        }
        ftruncateSync(fd, 0);
        return new AtomicFile(destination, temp, fd, options.url);
      }
      closeSync(fd);
    }
    // Unlinking removes the planted name only, never what a link points at.
    quietly(() => unlinkSync(temp));
    return new AtomicFile(destination, temp, openSync(temp, CREATE), options.url);
  }

  get size(): number {
    return this.#size;
  }

  /** The part file's descriptor, for a writer in this process (any thread) while the file is open. */
  get fd(): number {
    if (this.#fd === null) throw new NectarError('NECTAR_DESTINATION', `${this.destination} is no longer open for writing`);
    return this.#fd;
  }

  write(chunks: readonly Uint8Array[]): void {
    const bytes = byteLength(chunks);
    try {
      writeAt(this.fd, chunks, bytes, this.#size);
    } catch (error) {
      throw destinationError(this.destination, error, 'write to');
    }
    this.#size += bytes;
  }

  /** The first `end` bytes of the part file, read through our own descriptor (never by path). */
  async *read(end = this.#size): AsyncGenerator<Uint8Array> {
    const buffer = Buffer.allocUnsafe(Math.min(1024 * 1024, Math.max(end, 1)));
    for (let position = 0; position < end; ) {
      const bytesRead = await readAt(this.#readable(), buffer, Math.min(buffer.byteLength, end - position), position);
      if (bytesRead === 0) return;
      position += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  }

  grew(bytes: number): void {
    this.#size += bytes;
  }

  replaced(identity: FileIdentity): void {
    this.#identity = { dev: identity.dev, ino: identity.ino };
    this.#closeReplacement();
  }

  /**
   * The descriptor that reads what the part file holds: ours, or once a backend replaced the part
   * file (a hard or symbolic link to its source), that replacement, opened only if the name still
   * is the one the backend reported — a symlink is followed, which the checks before and after
   * bound to the link our backend made.
   */
  #readable(): number {
    const identity = this.#identity;
    if (identity === null) return this.fd;
    if (this.#replacement !== null) return this.#replacement;
    const before = lstatSync(this.tempPath);
    const link = before.isSymbolicLink();
    // O_NONBLOCK: a FIFO swapped in since the lstat must not block the process (the checks below refuse it).
    const fd = openSync(this.tempPath, constants.O_RDONLY | constants.O_NONBLOCK | (link ? 0 : constants.O_NOFOLLOW));
    const after = link ? lstatSync(this.tempPath) : fstatSync(fd);
    if (!sameFile(before, identity) || !sameFile(after, identity)) {
      closeSync(fd);
      throw replacedPart(this.tempPath, this.destination);
    }
    this.#replacement = fd;
    return fd;
  }

  #closeReplacement(): void {
    if (this.#replacement === null) return;
    const fd = this.#replacement;
    this.#replacement = null;
    quietly(() => closeSync(fd));
  }

  async restart(): Promise<void> {
    if (this.#identity !== null) this.#recreate();
    else ftruncateSync(this.fd, 0);
    this.#size = 0;
  }

  /**
   * A backend replaced the part file (a link to its source) and the next attempt (a mirror, a
   * retry over another backend) writes bytes: they must go to a part file of our own again, not
   * to the descriptor the link orphaned — whose bytes would be hashed while the link was placed.
   */
  #recreate(): void {
    this.#closeReplacement();
    this.#identity = null;
    // Whatever holds our part name under our lock goes: the link, or something planted since.
    quietly(() => unlinkSync(this.tempPath));
    const fd = createExclusive(this.tempPath);
    if (fd === null) throw replacedPart(this.tempPath, this.destination);
    const previous = this.#fd;
    this.#fd = fd;
    if (previous !== null) quietly(() => closeSync(previous));
  }

  /** What a sidecar says of our own part file; null where it would vouch for nothing (no URL, a backend's link in its place). */
  #sidecar(keep: { validator: string; total: number | null }): PartSidecar | null {
    const fd = this.#fd;
    if (this.#url === undefined || this.#identity !== null || fd === null) return null;
    const part = quietly(() => partIdentity(fstatSync(fd)));
    if (part === undefined) return null;
    return { urlDigest: urlDigest(this.#url), validator: keep.validator, total: keep.total, part };
  }

  vouch(keep: { validator: string; total: number | null }): void {
    const sidecar = this.#sidecar(keep);
    if (sidecar === null) return;
    quietly(() => unlinkSync(sidecarPath(this.destination)));
    const written = quietly(() => {
      writeSidecar(this.destination, sidecar);
      return true;
    });
    this.#vouched ||= written === true;
  }

  unvouch(): void {
    if (!this.#vouched) return;
    quietly(() => unlinkSync(sidecarPath(this.destination)));
    this.#vouched = false;
  }

  /** The part file stays where it is (its lock and sidecar with it); only the final rename moves. */
  retarget(path: string, options: { replace?: boolean } = {}): void {
    this.#target = path;
    this.#replace = options.replace !== false;
  }

  async commit({ fsync }: { fsync: boolean }): Promise<void> {
    try {
      if (fsync) await fsyncAsync(this.#readable());
      this.#place();
      if (this.#vouched) quietly(() => unlinkSync(sidecarPath(this.destination)));
      this.#close();
      releaseLock(this.tempPath);
      if (fsync) await syncFolder(dirname(this.#target));
    } catch (error) {
      await this.abandon();
      if ((error as NodeJS.ErrnoException).code === 'EISDIR') {
        throw new NectarError('NECTAR_DESTINATION', `destination ${this.#target} is a directory; give a file path`, {
          cause: error,
          details: { destination: this.#target },
        });
      }
      throw destinationError(this.#target, error, 'move the finished file to');
    }
  }

  async abandon(keep?: { validator: string; total: number | null }): Promise<void> {
    const sidecar = keep !== undefined && this.#size > 0 ? this.#sidecar(keep) : null;
    this.#close();
    if (sidecar !== null) {
      quietly(() => unlinkSync(sidecarPath(this.destination)));
      quietly(() => writeSidecar(this.destination, sidecar));
    } else {
      quietly(() => unlinkSync(this.tempPath));
      if (this.#vouched) quietly(() => unlinkSync(sidecarPath(this.destination)));
    }
    releaseLock(this.tempPath);
  }

  /**
   * Renames the part file into place, then checks that what arrived is the file we wrote: a
   * neighbour who can write the folder may have replaced the name (a link to another file) while
   * we wrote through our descriptor. Then the planted name is removed, never what it points to.
   */
  #place(): void {
    const written = this.#identity ?? fstatSync(this.fd);
    if (this.#replace) renameSync(this.tempPath, this.#target);
    else this.#placeWithoutReplacing();
    const placed = lstatSync(this.#target);
    if (sameFile(placed, written)) return;
    quietly(() => unlinkSync(this.#target));
    throw replacedPart(this.tempPath, this.#target);
  }

  /** A hard link fails with EEXIST where a rename would replace: then the part file is dropped, named in the error. */
  #placeWithoutReplacing(): void {
    try {
      linkSync(this.tempPath, this.#target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      throw new NectarError('NECTAR_DESTINATION', `${this.#target} appeared while it was downloaded, and it is not replaced`, { details: { destination: this.#target, reason: 'exists' } });
    }
    unlinkSync(this.tempPath);
  }

  #close(): void {
    this.#closeReplacement();
    if (this.#fd === null) return;
    const fd = this.#fd;
    this.#fd = null;
    // Nothing is buffered in user space: a failing close loses no byte a write did not report.
    quietly(() => closeSync(fd));
  }
}

/** Beside the part file, created exclusively, never through a planted link. */
function writeSidecar(destination: string, sidecar: PartSidecar): void {
  const fd = openSync(sidecarPath(destination), CREATE);
  try {
    writeFileSync(fd, JSON.stringify(sidecar));
  } finally {
    closeSync(fd);
  }
}

/** Creates the part file; null when one is there already. */
function createExclusive(path: string): number | null {
  try {
    return openSync(path, CREATE);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return null;
    throw error;
  }
}

/** Runs a clean-up step whose failure changes nothing for the caller; its result, if any. */
function quietly<T>(step: () => T): T | undefined {
  try {
    return step();
  } catch {
    return undefined;
  }
}

const fsyncAsync = promisify(fsync);
const readAsync = promisify(read);

async function readAt(fd: number, buffer: Buffer, length: number, position: number): Promise<number> {
  return (await readAsync(fd, buffer, 0, length, position)).bytesRead;
}

/**
 * Opens the part file core created (`job.tempPath`), for a backend that writes it itself: never
 * through a symlink, and only while it is still a plain file of ours with no other name. Between
 * core's exclusive create and this open, anyone who can write the folder may have swapped it.
 */
export function openPartFileSync(path: string, destination: string): number {
  let fd: number;
  try {
    fd = openSync(path, REOPEN);
  } catch (error) {
    throw destinationError(destination, error, 'write to');
  }
  if (isOwnPlainFile(fstatSync(fd))) return fd;
  closeSync(fd);
  throw replacedPart(path, destination);
}

/** openPartFileSync(), for a backend on the main thread. */
export async function openPartFile(path: string, destination: string): Promise<FileHandle> {
  const handle = await open(path, REOPEN).catch((error: unknown) => {
    throw destinationError(destination, error, 'write to');
  });
  if (isOwnPlainFile(await handle.stat())) return handle;
  await handle.close();
  throw replacedPart(path, destination);
}

/** The same device and inode: the same file, whatever name leads to it. */
export function sameFile(stats: FileIdentity, identity: FileIdentity): boolean {
  return stats.dev === identity.dev && stats.ino === identity.ino;
}

function replacedPart(path: string, destination: string): NectarError {
  return new NectarError('NECTAR_DESTINATION', `cannot write to ${destination}: its part file ${path} was replaced by something that is not ours`, {
    details: { destination, tempPath: path },
  });
}

/** Takes the lock of a destination's part file (`temp`); a refusal names the destination. */
function lockFor(destination: string, temp: string): 'free' | 'stale' {
  try {
    return acquireLock(temp, destination);
  } catch (error) {
    throw destinationError(destination, error, 'write to');
  }
}

/** A part file we may trust: a regular file, no other name for it, owned by this user. */
function isOwnPlainFile(stat: Stats): boolean {
  const uid = process.getuid?.();
  return stat.isFile() && stat.nlink === 1 && (uid === undefined || stat.uid === uid);
}

/**
 * For a writer that puts a finished file in place by its own means (a queue worker's stage):
 * takes the lock of the destination's part file for the moment of the move, so that it never
 * replaces a file a live download is writing. A dead run's part file and sidecar are removed —
 * the destination is about to be complete. Returns the release.
 */
export async function holdDestination(destination: string): Promise<() => Promise<void>> {
  const temp = partPath(destination);
  const previous = lockFor(destination, temp);
  if (previous === 'stale') await Promise.all([unlink(temp).catch(() => {}), unlink(sidecarPath(destination)).catch(() => {})]);
  return async () => releaseLock(temp);
}

/** fsync of a folder, so that a rename in it survives a crash. */
export async function syncFolder(path: string): Promise<void> {
  const folder = await open(path, 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** A caller's writable: written with backpressure, watched for errors, never ended. */
export class StreamDestination implements DestinationWriter {
  readonly tempPath = null;
  readonly resumeValidator = null;
  readonly resumeTotal = null;
  readonly #stream: NodeJS.WritableStream;
  #size = 0;
  #error: Error | null = null;
  readonly #onError = (error: Error) => {
    this.#error = error;
  };

  constructor(stream: NodeJS.WritableStream) {
    this.#stream = stream;
    stream.on('error', this.#onError);
  }

  get size(): number {
    return this.#size;
  }

  async write(chunks: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
    for (const chunk of chunks) {
      this.#check();
      const full = !this.#stream.write(chunk);
      this.#size += chunk.byteLength;
      if (full) await this.#drain(signal);
    }
    this.#check();
  }

  async *read(): AsyncGenerator<Uint8Array> {}

  grew(bytes: number): void {
    this.#size += bytes;
  }

  replaced(): void {
    throw new NectarError('NECTAR_NOT_SUPPORTED', 'a stream destination has no part file to replace');
  }

  async restart(): Promise<void> {
    if (this.#size > 0) {
      throw new NectarError('NECTAR_RESUME', `cannot retry from the start: ${this.#size} bytes were already written to the caller's stream`, {
        details: { bytesWritten: this.#size },
      });
    }
  }

  async commit(): Promise<void> {
    this.#release();
    this.#check();
  }

  async abandon(): Promise<void> {
    this.#release();
  }

  #check(): void {
    const writable = this.#stream as NodeJS.WritableStream & { destroyed?: boolean; writableEnded?: boolean };
    if (this.#error !== null) throw destinationError('the destination stream', this.#error, 'write to');
    if (writable.destroyed === true || writable.writableEnded === true) {
      throw new NectarError('NECTAR_DESTINATION', 'the destination stream was closed before the download finished');
    }
  }

  async #drain(cancel?: AbortSignal): Promise<void> {
    // 'close' and 'error' also end the wait: a stream that dies never emits 'drain'. A cancel
    // ends it too: a caller's stream that never drains must not hold the download forever.
    cancel?.throwIfAborted();
    const controller = new AbortController();
    const { signal } = controller;
    const ended = (event: string) => once(this.#stream as NodeJS.EventEmitter, event, { signal }).catch(() => {});
    const canceled = cancel === undefined ? [] : [once(cancel, 'abort', { signal }).catch(() => {})];
    try {
      await Promise.race([ended('drain'), ended('close'), ended('error'), ...canceled]);
    } finally {
      controller.abort();
    }
    cancel?.throwIfAborted();
  }

  #release(): void {
    this.#stream.removeListener('error', this.#onError);
  }
}
