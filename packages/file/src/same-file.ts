import { stat } from 'node:fs/promises';
import { NectarError } from '@nectar/core';
import type { Source } from './source.js';

/**
 * Refuses a destination that already is the source — the same path, a hard link to it, a
 * symlink to it, or the target of a source that is a symlink. Renaming a link over it would
 * leave a link to itself (symlink mode: the only copy gone), and a copy would rewrite the file
 * it reads. stat() follows symlinks on purpose: what counts is the file both names reach.
 */
export async function refuseSameFile(source: Source, destination: string | NodeJS.WritableStream): Promise<void> {
  if (typeof destination !== 'string') return;
  const existing = await stat(destination).catch(() => null);
  if (existing === null || existing.dev !== source.info.dev || existing.ino !== source.info.ino) return;
  throw new NectarError('NECTAR_DESTINATION', `destination ${destination} is the source ${source.path} itself (the same file); choose another destination`, {
    details: { destination, source: source.path, reason: 'same-file' },
  });
}
