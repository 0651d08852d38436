import { lstatSync, readFileSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { NectarError } from '../errors.js';

/**
 * Who is writing a part file. A lock beside it, `.<name>.nectar-part.lock`, is a symbolic link
 * whose target names the owner, `<pid>:<start>` (start: the process's start time in clock ticks
 * since boot, from /proc; empty where there is none). A symlink is created and read in one system
 * call each and is never followed, the way Emacs and Mercurial keep their lock files: its content
 * exists the instant its name does, so a reader never sees a half-written owner.
 *
 * A lock whose owner is dead (killed, crashed) is stale: the next run takes it over, so a killed
 * run never blocks the next one.
 */
export interface PartOwner {
  readonly pid: number;
  /** null where the platform does not tell (no /proc): the pid alone then decides. */
  readonly start: string | null;
}

export const self: PartOwner = { pid: process.pid, start: startTimeOf(process.pid) };

export function lockPath(partPath: string): string {
  return `${partPath}.lock`;
}

/** Field 22 of /proc/<pid>/stat: a pid reused by another process has another start time. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function encode(owner: PartOwner): string {
  return `${owner.pid}:${owner.start ?? ''}`;
}

function decode(target: string): PartOwner | null {
  const match = /^(\d+):(\d*)$/.exec(target);
  if (match === null) return null;
  return { pid: Number(match[1]), start: match[2] === '' ? null : (match[2] ?? null) };
}

/** Whether the owner still runs: its pid exists and, where /proc tells, started when it says. */
export function isAlive(owner: PartOwner): boolean {
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return owner.start === null || startTimeOf(owner.pid) === owner.start;
}

/**
 * Takes the lock of a part file. Resolves to what was there before: 'free' when no lock
 * existed, 'stale' when its owner was dead (the part file left behind is then untrusted data
 * that the caller may resume after its own checks). Throws NECTAR_DESTINATION when a live
 * process holds it.
 */
export function acquireLock(partPath: string, destination: string): 'free' | 'stale' {
  // Synchronous on purpose: a symlink on a local disk takes microseconds, while the same call
  // through libuv's thread pool costs several times that in hops (measured: +30% on small files).
  const path = lockPath(partPath);
  try {
    symlinkSync(encode(self), path);
    return 'free';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const holder = readOwner(path);
  if (holder !== null && isAlive(holder) && madeBy(path, holder)) throw inUse(destination, partPath, holder);
  // The owner is dead, or the lock is not one of ours (garbage, a regular file): take it over.
  // Two runs recovering the same stale lock at the same instant can both succeed here; that
  // needs two fresh processes racing for one abandoned destination within microseconds.
  let kept: unknown = null;
  try {
    unlinkSync(path);
  } catch (error) {
    // Gone already: another run may be taking it over too; symlink() below decides. Not ours to
    // remove (another user's, in a sticky folder): said as such below.
    kept = error;
  }
  try {
    symlinkSync(encode(self), path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    const code = (kept as NodeJS.ErrnoException | null)?.code;
    if (code === 'EPERM' || code === 'EACCES') throw foreignLock(destination, partPath);
    throw inUse(destination, partPath, readOwner(path));
  }
  return 'stale';
}

function foreignLock(destination: string, partPath: string): NectarError {
  const path = lockPath(partPath);
  return new NectarError('NECTAR_DESTINATION', `${destination} is blocked by ${path}, a lock no live download of its owner holds, which this user may not remove`, {
    details: { destination, tempPath: partPath, lockPath: path },
  });
}

/**
 * Whether the lock's owner is a user the named process runs as (its real, effective, saved or
 * filesystem uid, from /proc/<pid>/status: /proc/<pid> itself is root's for a process that
 * changed uid). A process makes its own lock; another user's symlink naming a live process of
 * someone else (pid 1, say) is not a lock but a way to block the destination for good. A lock of
 * our own user's is believed as ever; where /proc does not tell (not Linux), any lock is.
 */
function madeBy(path: string, holder: PartOwner): boolean {
  try {
    const owner = lstatSync(path).uid;
    if (owner === process.getuid?.()) return true;
    const uids = /^Uid:\s+(.*)$/m.exec(readFileSync(`/proc/${holder.pid}/status`, 'latin1'))?.[1]?.split(/\s+/).map(Number);
    return uids === undefined || uids.includes(owner);
  } catch {
    return true;
  }
}

function inUse(destination: string, partPath: string, holder: PartOwner | null): NectarError {
  const who = holder === null ? 'another run' : `process ${holder.pid}`;
  return new NectarError('NECTAR_DESTINATION', `${destination} is being downloaded by ${who} (it holds ${lockPath(partPath)})`, {
    details: { destination, tempPath: partPath, ownerPid: holder?.pid },
  });
}

function readOwner(path: string): PartOwner | null {
  try {
    return decode(readlinkSync(path));
  } catch {
    // Not a symlink (a planted regular file or folder), or gone already.
    return null;
  }
}

/** Drops our lock. A live owner's lock is never taken over, so the one at the path is ours. */
export function releaseLock(partPath: string): void {
  try {
    unlinkSync(lockPath(partPath));
  } catch {
    // Already gone: nothing of ours is left to release.
  }
}
