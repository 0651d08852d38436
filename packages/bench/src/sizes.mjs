// Units and the three file sets every workload draws from.
export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;

/** Requests in flight for every contender: Nectar's default, and what the issue compares at. */
export const CONCURRENCY = 8;

/** The file sets of the corpus; `--quick` shrinks only the large file. */
export function fileSets({ quick }) {
  return {
    small: { name: 'small', count: 2000, size: 16 * KiB },
    medium: { name: 'medium', count: 200, size: MiB },
    large: { name: 'large', count: 1, size: quick ? 256 * MiB : GiB },
  };
}

export function formatSize(bytes) {
  if (bytes >= GiB) return `${bytes / GiB} GiB`;
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  return `${bytes / KiB} KiB`;
}
