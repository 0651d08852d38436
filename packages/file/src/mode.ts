import { NectarArgumentError } from '@nectar/core/backend';

export type FileMode = 'copy' | 'hardlink' | 'symlink';

const modes: readonly FileMode[] = ['copy', 'hardlink', 'symlink'];

/** config.fileMode (or the backend's option), checked: a typo must not silently copy. */
export function fileModeOf(given: unknown): FileMode {
  const value = given ?? 'copy';
  if (!modes.includes(value as FileMode)) {
    throw new NectarArgumentError(`config.fileMode must be 'copy', 'hardlink' or 'symlink', got ${JSON.stringify(value)}`, 'NECTAR_INVALID_CONFIG');
  }
  return value as FileMode;
}
