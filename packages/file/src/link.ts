import type { Stats } from 'node:fs';
import { link, lstat, readlink, stat, symlink, unlink } from 'node:fs/promises';
import { NectarError, type TransferJob, destinationError } from '@nectar/core/backend';
import type { Source } from './source.js';

export type LinkMode = 'hardlink' | 'symlink';

/**
 * The part file becomes the link, so core's rename still makes the destination appear
 * atomically. link() and symlink() create their name and fail on anything already there, so a
 * link planted after our unlink fails the request rather than being written through.
 */
export async function linkAsPart(job: TransferJob, source: Source, mode: LinkMode): Promise<void> {
  if (job.tempPath === null) {
    throw new NectarError('NECTAR_NOT_SUPPORTED', `config.fileMode '${mode}' needs a path destination, not a stream`, { details: { field: 'fileMode' } });
  }
  if (source.size === null) {
    // A link to /proc/self/status would show whoever reads it, not what we saw: copy those.
    throw new NectarError('NECTAR_NOT_SUPPORTED', `config.fileMode '${mode}' needs a file of known size; ${source.path} stats at 0 bytes yet has content (a kernel file): use fileMode 'copy'`, {
      details: { field: 'fileMode', path: source.path },
    });
  }
  await unlink(job.tempPath);
  try {
    await (mode === 'hardlink' ? link(source.path, job.tempPath) : symlink(source.path, job.tempPath));
  } catch (error) {
    throw destinationError(job.tempPath, error, `${mode} ${source.path} as`);
  }
  job.partReplaced(await checkedLink(job.tempPath, source, mode));
  job.progressed(source.size);
}

/**
 * What the part name holds now, checked to be the link we made to the file we opened: the
 * identity core compares at every later step is this one, so a name swapped by a neighbour
 * between our link() and this check is refused here rather than reported as ours. A hard link
 * is the source's own inode; a symbolic link must name the source and reach it.
 */
async function checkedLink(tempPath: string, source: Source, mode: LinkMode): Promise<Stats> {
  const own = await lstat(tempPath).catch(() => null);
  const ours =
    own !== null &&
    (mode === 'hardlink'
      ? sameFile(own, source.info)
      : own.isSymbolicLink() && (await readlink(tempPath).catch(() => null)) === source.path && sameFile(await stat(tempPath).catch(() => null), source.info));
  if (ours) return own;
  throw new NectarError('NECTAR_SIZE_MISMATCH', `${source.path} was replaced while it was linked`, {
    retryable: true,
    details: { path: source.path, reason: 'source-changed' },
  });
}

function sameFile(a: { dev: number; ino: number } | null, b: { dev: number; ino: number }): boolean {
  return a !== null && a.dev === b.dev && a.ino === b.ino;
}
