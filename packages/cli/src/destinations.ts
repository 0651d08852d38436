import { lstatSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { DownloadReport, DownloadRequest, type ExpectedDigest, NectarArgumentError, type NectarErrorCode, partPath } from '@nectar/core/backend';
import { UsageError } from './args.js';
import { NameAllocator, nameFromUrl, sanitiseName } from './names.js';
import { isAbsoluteUrl } from './urls.js';
import { type Outcome, leftAlone } from './outcome.js';

/** How a download written to stdout (`-o -`) is named in lines and reports. */
export const STDOUT = 'stdout';

/**
 * What to do when a file is already where a download would go. `continue` (-c) skips it too,
 * unless an unfinished part file is beside it: that download is finished, replacing the file.
 * `timestamp` (-N) asks the server for it only if modified since the file's mtime.
 */
export type ExistingFiles = 'fail' | 'overwrite' | 'skip' | 'continue' | 'timestamp';

export interface PlannerOptions {
  cwd: string;
  /** -o FILE: the one URL's path; `-` is `stdout`. */
  output?: string;
  /** Where `-o -` writes the body. */
  stdout?: NodeJS.WritableStream;
  /** -d DIR (default: cwd). */
  directory?: string;
  existing: ExistingFiles;
  checksum?: ExpectedDigest;
  mirrors?: string[];
  /** Headers for one URL's request (--netrc credentials). */
  headersFor?: (url: URL) => Record<string, string> | undefined;
}

/** A URL either becomes a request, or ends before any transfer (a bad URL, a file in the way). */
export type Planned = { readonly request: DownloadRequest } | { readonly outcome: Outcome };

/**
 * Chooses each URL's destination before its download starts: a sanitised name inside the
 * folder, unique within the run, and never an existing file unless the options allow it.
 */
export class DestinationPlanner {
  readonly #options: PlannerOptions;
  readonly #names: NameAllocator;

  constructor(options: PlannerOptions) {
    this.#options = options;
    this.#names = new NameAllocator(resolve(options.cwd, options.directory ?? '.'));
  }

  /** Creates -d DIR if missing, as wget -P does; a file in its place is a usage error. */
  async prepare(): Promise<void> {
    if (this.#options.output !== undefined) return;
    try {
      await mkdir(this.#names.dir, { recursive: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'EEXIST' || code === 'ENOTDIR' ? 'a file is in the way' : (error as Error).message;
      throw new UsageError(`-d ${this.#options.directory ?? '.'}: cannot use ${this.#names.dir} as the folder: ${why}`);
    }
  }

  async plan(text: string): Promise<Planned> {
    if (!isAbsoluteUrl(text)) return { outcome: failed(text, '', 'NECTAR_INVALID_REQUEST', `not an absolute URL: ${JSON.stringify(text)}`) };
    const url = new URL(text);
    const { output, stdout } = this.#options;
    // -o -: the body goes to stdout; there is no file to name, find or leave alone.
    if (output === '-' && stdout !== undefined) return this.#request(url, stdout, this.#options.headersFor?.(url));
    const path = output === undefined ? this.#names.allocate(nameFromUrl(url)) : resolve(this.#options.cwd, output);
    if (this.#leaveAlone(path)) return { outcome: this.#existing(url.href, path) };
    return this.#request(url, path, this.#options.headersFor?.(url));
  }

  #request(url: URL, destination: string | NodeJS.WritableStream, headers?: Record<string, string>): Planned {
    const { checksum, mirrors } = this.#options;
    const path = typeof destination === 'string' ? destination : STDOUT;
    try {
      return { request: new DownloadRequest(url, destination, { expectedDigest: checksum, mirrors, headers }) };
    } catch (error) {
      // A URL core refuses (a line of a list, say) fails alone; the run goes on.
      if (!(error instanceof NectarArgumentError)) throw error;
      return { outcome: failed(url.href, path, error.code, error.message) };
    }
  }

  #leaveAlone(path: string): boolean {
    const { existing } = this.#options;
    if (existing === 'overwrite' || existing === 'timestamp' || !exists(path)) return false;
    return existing !== 'continue' || !exists(partPath(path));
  }

  #existing(url: string, path: string): Outcome {
    if (this.#options.existing === 'skip' || this.#options.existing === 'continue') return leftAlone(url, path, 'exists');
    const message = `${path} exists; --force overwrites it, --skip-existing keeps it`;
    return failed(url, path, 'NECTAR_DESTINATION', message, { exists: true });
  }

  /**
   * A download that ended leaving nothing at `paths` (its planned path, and the one -J chose)
   * gives their names back, so that a list of a million dead links does not hold a million names.
   * A later URL of the same name then takes it, as if this one had never been in the list. A name
   * with a file or a kept part file there stays taken: the run must not write over it.
   */
  release(report: DownloadReport, paths: readonly string[]): void {
    if (this.#options.output !== undefined || (report.state !== 'failed' && report.state !== 'canceled')) return;
    for (const path of paths) {
      if (!exists(path) && !exists(partPath(path))) this.#names.release(path);
    }
  }

  /** --force: existing files are replaced. */
  get replaces(): boolean {
    return this.#options.existing === 'overwrite';
  }

  /**
   * The name a Content-Disposition header gives a download, sanitised like a URL's name, or the
   * planned path when there is none to take. Chosen when the headers arrive, before any byte is
   * written: core then commits the file under it (config.afterHeaders), with no rename after.
   * An existing file is never chosen without --force: the planned name is kept, with a note.
   */
  choose(path: string, suggested: string): { path: string; note?: string } {
    const name = sanitiseName(suggested, basename(path));
    if (name === basename(path) || this.#options.output !== undefined) return { path };
    const target = this.#names.allocate(name);
    if (this.#options.existing !== 'overwrite' && lstatSync(target, { throwIfNoEntry: false }) !== undefined) {
      this.#names.release(target);
      return { path, note: `kept ${path}: ${target} (from Content-Disposition) exists; --force overwrites it` };
    }
    return { path: target };
  }
}

/**
 * Synchronous on purpose: the promise form throws for a missing file, and building that error
 * costs ~90 µs — most of the time of planning a 20 000-line list. One lstat blocks for microseconds.
 */
function exists(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    // ENOTDIR, EACCES: nothing we could be asked to overwrite is there.
    return false;
  }
}

function failed(url: string, destination: string, code: NectarErrorCode, message: string, details: Record<string, unknown> = {}): Outcome {
  const report = new DownloadReport({ url, destination, data: undefined });
  report.state = 'failed';
  report.finishTime = new Date();
  report.errorReport = { message, code, url, ...details };
  return { report, destination };
}
