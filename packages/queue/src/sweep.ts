import type { Dirent } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { stageOwner } from './staging.js';

export interface SweepOptions {
  /** Folders searched for stage and part files (recursively, up to `depth`). */
  roots: readonly string[];
  /** Whether a worker id belongs to a live worker (its heartbeat has not expired). */
  isAlive(workerId: string): Promise<boolean>;
  /** Files touched more recently than this are left alone, whoever wrote them (default 60 s). */
  minAgeMs?: number;
  depth?: number;
}

/**
 * Removes the stage files (and core part files inside them) that a killed worker left. A file is
 * removed only when its worker is dead *and* it has not been written for `minAgeMs`: a Redis
 * restart that briefly loses heartbeats must not delete the files of workers still running.
 */
export async function sweepStages(options: SweepOptions): Promise<string[]> {
  const removed: string[] = [];
  const alive = new Map<string, boolean>();
  const minAge = options.minAgeMs ?? 60_000;
  const visit = async (folder: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(folder, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) {
        if (depth > 0) await visit(path, depth - 1);
        continue;
      }
      const owner = stageOwner(entry.name);
      if (owner === null) continue;
      if (!alive.has(owner)) alive.set(owner, await options.isAlive(owner));
      if (alive.get(owner) === true || !(await olderThan(path, minAge))) continue;
      await unlink(path).then(
        () => removed.push(path),
        () => {},
      );
    }
  };
  for (const root of options.roots) await visit(root, options.depth ?? 8);
  return removed;
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  // lstat: a lock is a symlink whose target is no path at all.
  const info = await lstat(path).catch(() => null);
  return info !== null && Date.now() - info.mtimeMs >= ms;
}
