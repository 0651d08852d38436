import { type Stats, statSync } from 'node:fs';
import { NectarError } from '@nectar/core';
import type { Source } from './source.js';

/**
 * Refuses a destination that already is the source — the same path, a hard link to it, a
 * symlink to it, or the target of a source that is a symlink. Renaming a link over it would
 * leave a link to itself (symlink mode: the only copy gone), and a copy would rewrite the file
 * it reads. stat() follows symlinks on purpose: what counts is the file both names reach.
 */
export function refuseSameFile(source: Source, destination: string | NodeJS.WritableStream): void {
  if (typeof destination !== 'string') return;
  const existing = statOrNull(destination);
  if (existing === undefined || existing.dev !== source.info.dev || existing.ino !== source.info.ino) return;
  throw new NectarError('NECTAR_DESTINATION', `destination ${destination} is the source ${source.path} itself (the same file); choose another destination`, {
    details: { destination, source: source.path, reason: 'same-file' },
  });
}

/** Synchronous, and without an exception for the usual answer (no such file): building one costs more than the stat. */
function statOrNull(path: string): Stats | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false });
  } catch {
    // ENOTDIR, EACCES …: nothing there we could be asked to overwrite with itself.
    return undefined;
  }
}
