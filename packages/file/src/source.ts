import type { Stats } from 'node:fs';
import { stat } from 'node:fs/promises';
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

/** stat() of a source that must be a readable regular file, with errors a report can carry. */
export async function statSource(path: string): Promise<Stats> {
  let info: Stats;
  try {
    info = await stat(path);
  } catch (error) {
    const errno = (error as NodeJS.ErrnoException).code;
    const code = errno === 'EACCES' || errno === 'EPERM' ? 'NECTAR_PERMISSION' : 'NECTAR_NOT_FOUND';
    throw new NectarError(code, `cannot read ${path}: ${(error as Error).message}`, { cause: error, details: { path, errno } });
  }
  if (!info.isFile()) {
    throw new NectarError('NECTAR_NOT_FOUND', `${path} is ${info.isDirectory() ? 'a directory' : 'not a regular file'}; only files can be downloaded`, {
      details: { path },
    });
  }
  return info;
}

/** Changes to size or modification time mean a partial copy cannot be continued. */
export function validatorOf(info: Stats): string {
  return `${info.size}-${info.mtimeMs}`;
}
