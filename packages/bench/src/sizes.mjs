// Units and the file sets every workload draws from.
import { defaults } from '@nectar/core';

export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/**
 * Requests in flight for every contender: Nectar's own default (the library runs unconfigured),
 * so the tools and the hand-written loop are told the same number.
 */
export const CONCURRENCY = defaults.maxConcurrent;

/** The file sets of the corpus; `--quick` shrinks only the large file. A set of one is `<name>.bin`. */
export function fileSets({ quick }) {
  return {
    small: { name: 'small', count: 2000, size: 16 * KiB },
    medium: { name: 'medium', count: 200, size: MiB },
    large: { name: 'large', count: 1, size: quick ? 256 * MiB : GiB },
    one: { name: 'one', count: 1, size: 16 * KiB },
  };
}

export function formatSize(bytes) {
  if (bytes >= GiB) return `${bytes / GiB} GiB`;
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  return `${bytes / KiB} KiB`;
}
