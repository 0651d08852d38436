// What the figures were measured on, and where the temp dir and tmpfs destinations live.
import { readFileSync, realpathSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';

const TMPFS_CANDIDATES = ['/dev/shm', '/run/shm'];

/** The filesystem type holding `path` (from /proc/mounts; 'unknown' elsewhere). */
export function filesystemOf(path) {
  let mounts;
  try {
    mounts = readFileSync('/proc/mounts', 'utf8').trim().split('\n').map((line) => line.split(' '));
  } catch {
    return 'unknown';
  }
  const real = realpathSync(path);
  // The longest mount point that holds the path is the one it lives on.
  const holding = mounts.filter(([, point]) => real === point || real.startsWith(point.endsWith('/') ? point : `${point}/`));
  holding.sort((a, b) => b[1].length - a[1].length);
  return holding[0]?.[2] ?? 'unknown';
}

/** A tmpfs folder for the tmpfs workloads ($NECTAR_BENCH_TMPFS, else /dev/shm), or null. */
export function findTmpfs() {
  const candidates = process.env.NECTAR_BENCH_TMPFS ? [process.env.NECTAR_BENCH_TMPFS] : TMPFS_CANDIDATES;
  return candidates.find((path) => safeFilesystemOf(path) === 'tmpfs') ?? null;
}

export function describeMachine(tmpfsRoot) {
  return {
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown CPU',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.versions.node,
    platform: `${process.platform} ${process.arch}`,
    tmpdir: { path: tmpdir(), fs: safeFilesystemOf(tmpdir()) },
    tmpfs: { path: tmpfsRoot, fs: tmpfsRoot === null ? null : 'tmpfs' },
  };
}

function safeFilesystemOf(path) {
  try {
    return filesystemOf(path);
  } catch {
    return null;
  }
}
