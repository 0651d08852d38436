import { link, lstat, stat, symlink, unlink } from 'node:fs/promises';
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
  await checkLinked(job.tempPath, source);
  job.partReplaced(await lstat(job.tempPath));
  job.progressed(source.size);
}

/** The path was looked up again to link it: it must still reach the file we opened and checked. */
async function checkLinked(tempPath: string, source: Source): Promise<void> {
  const linked = await stat(tempPath).catch(() => null);
  if (linked !== null && linked.dev === source.info.dev && linked.ino === source.info.ino) return;
  throw new NectarError('NECTAR_SIZE_MISMATCH', `${source.path} was replaced while it was linked`, {
    retryable: true,
    details: { path: source.path, reason: 'source-changed' },
  });
}
