import { constants } from 'node:fs';
import { copyFile, link, lstat, mkdir, rename, unlink } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { DownloadReport, DownloadRequest, type ExpectedDigest, NectarArgumentError, partPath } from '@nectar/core/backend';
import { UsageError } from './args.js';
import { NameAllocator, nameFromUrl, sanitiseName } from './names.js';
import { isAbsoluteUrl } from './urls.js';
import type { Outcome } from './outcome.js';

/**
 * What to do when a file is already where a download would go. `continue` (-c) skips it too,
 * unless an unfinished part file is beside it: that download is finished, replacing the file.
 */
export type ExistingFiles = 'fail' | 'overwrite' | 'skip' | 'continue';

export interface PlannerOptions {
  cwd: string;
  /** -o FILE: the one URL's path. */
  output?: string;
  /** -d DIR (default: cwd). */
  directory?: string;
  existing: ExistingFiles;
  checksum?: ExpectedDigest;
  mirrors?: string[];
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
    const path = this.#options.output === undefined ? this.#names.allocate(nameFromUrl(url)) : resolve(this.#options.cwd, this.#options.output);
    if (await this.#leaveAlone(path)) return { outcome: this.#existing(url.href, path) };
    const { checksum, mirrors } = this.#options;
    try {
      return { request: new DownloadRequest(url, path, { expectedDigest: checksum, mirrors }) };
    } catch (error) {
      // A URL core refuses (a line of a list, say) fails alone; the run goes on.
      if (!(error instanceof NectarArgumentError)) throw error;
      return { outcome: failed(url.href, path, error.code, error.message) };
    }
  }

  async #leaveAlone(path: string): Promise<boolean> {
    const { existing } = this.#options;
    if (existing === 'overwrite' || !(await exists(path))) return false;
    return existing !== 'continue' || !(await exists(partPath(path)));
  }

  #existing(url: string, path: string): Outcome {
    if (this.#options.existing === 'skip' || this.#options.existing === 'continue') {
      const report = new DownloadReport({ url, destination: path, data: undefined });
      report.state = 'succeeded';
      report.finishTime = new Date();
      return { report, destination: path, skipped: 'exists' };
    }
    const message = `${path} exists; --force overwrites it, --skip-existing keeps it`;
    return failed(url, path, 'NECTAR_DESTINATION', message, { exists: true });
  }

  /**
   * Renames a downloaded file to the name a Content-Disposition header gave, sanitised like a
   * URL's name. An existing file is never replaced without --force: hard-linking fails with
   * EEXIST where a rename would silently overwrite.
   */
  async rename(path: string, suggested: string): Promise<{ path: string; note?: string }> {
    const name = sanitiseName(suggested, basename(path));
    if (name === basename(path) || this.#options.output !== undefined) return { path };
    const target = this.#names.allocate(name);
    if (this.#options.existing === 'overwrite') {
      await rename(path, target);
      return { path: target };
    }
    try {
      await linkOrCopy(path, target);
    } catch (error) {
      this.#names.release(target);
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      return { path, note: `kept ${path}: ${target} (from Content-Disposition) exists; --force overwrites it` };
    }
    await unlink(path);
    return { path: target };
  }
}

/** Both fail with EEXIST rather than replace a file; copying is for filesystems without links. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EXDEV') throw error;
    await copyFile(from, to, constants.COPYFILE_EXCL);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function failed(url: string, destination: string, code: string, message: string, details: Record<string, unknown> = {}): Outcome {
  const report = new DownloadReport({ url, destination, data: undefined });
  report.state = 'failed';
  report.finishTime = new Date();
  report.errorReport = { message, code, url, ...details };
  return { report, destination };
}
