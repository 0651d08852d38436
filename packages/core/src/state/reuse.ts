import { type Stats, constants } from 'node:fs';
import { type FileHandle, chmod, copyFile, link, lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type FileIdentity, holdDestination, partPath, sameFile } from '../output/destination.js';
import type { ExpectedDigest } from '../request.js';
import { type DiskCopy, diskCopy, handleDigest, matchesRecord } from './disk-copy.js';
import { type StateStore, digestKey } from './store.js';

/** How many known copies of the same bytes are tried before downloading after all. */
const candidatesTried = 8;

/**
 * Places a copy of bytes already on disk at `destination`: a file the store recorded with the
 * same digest (still untouched since), or a same-named file in a `reuseFrom` folder. The copy is
 * hard-linked (copied, reflinked where the filesystem can, where a link is impossible) to the part
 * file under the destination's lock, its digest verified, then renamed into place. Returns the
 * placed file, or null when no candidate held the expected bytes.
 */
export async function reuseCopy(
  destination: string,
  expected: ExpectedDigest,
  store: StateStore | null,
  reuseFrom: readonly string[],
): Promise<DiskCopy | null> {
  for await (const source of candidates(destination, expected, store, reuseFrom)) {
    const placed = await placeCopy(source, destination, expected);
    if (placed !== null) return placed;
  }
  return null;
}

async function* candidates(destination: string, expected: ExpectedDigest, store: StateStore | null, reuseFrom: readonly string[]): AsyncGenerator<string> {
  const records = store === null ? [] : await store.withDigest(digestKey(expected), candidatesTried);
  for (const record of records) {
    if (record.destination !== destination && matchesRecord(record, await diskCopy(record.destination))) yield record.destination;
  }
  for (const folder of reuseFrom) {
    const path = join(folder, basename(destination));
    if (path !== destination && (await diskCopy(path)) !== null) yield path;
  }
}

async function placeCopy(source: string, destination: string, expected: ExpectedDigest): Promise<DiskCopy | null> {
  const release = await holdDestination(destination);
  const part = partPath(destination);
  try {
    const placed = await placeAsPart(source, part);
    if (placed === null) return null;
    try {
      // Verified after placing, not before, through a descriptor of the very file placed, and
      // checked again where it lands: anyone who can write the folder may swap the part's name.
      if (!(await holdsDigest(part, placed, expected))) {
        await unlink(part);
        return null;
      }
      await rename(part, destination);
      if (!sameFile(await lstat(destination), placed)) {
        // Whatever was swapped in goes; never what it may point to.
        await unlink(destination).catch(() => {});
        return null;
      }
      return await diskCopy(destination);
    } catch {
      await unlink(part).catch(() => {});
      return null;
    }
  } finally {
    await release();
  }
}

/** Whether `part` is still the file placed and holds the expected bytes; read without following a link nor blocking on a FIFO. */
async function holdsDigest(part: string, placed: FileIdentity, expected: ExpectedDigest): Promise<boolean> {
  const handle = await open(part, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (handle === null) return false;
  try {
    return sameFile(await handle.stat(), placed) && (await handleDigest(handle, expected.algorithm)) === expected.value.toLowerCase();
  } finally {
    await handle.close();
  }
}

/**
 * Puts the candidate's bytes at `part` as a file of our own and returns its identity, or null
 * with nothing of ours left there. A hard link only to a plain file of ours that no one else may
 * write: a link to another user's file (a shared cache folder) would let them rewrite the
 * destination later, so theirs is copied, without their write bits. The candidate is opened
 * once, never through a symlink nor blocking on a FIFO, and what is linked or copied is the file
 * that was checked. A part file already there (kept by an earlier run) is not ours to remove.
 */
async function placeAsPart(source: string, part: string): Promise<FileIdentity | null> {
  const handle = await open(source, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (handle === null) return null;
  try {
    const checked = await handle.stat();
    if (!checked.isFile()) return null;
    if (isOwnAndPrivate(checked) && (await linkChecked(source, part, checked))) return checked;
    return await copyChecked(handle, source, part, checked);
  } finally {
    await handle.close();
  }
}

function isOwnAndPrivate(stat: Stats): boolean {
  return stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0;
}

/** A hard link, kept only if the name still led to the checked file (anyone who can write that folder may swap it). */
async function linkChecked(source: string, part: string, checked: Stats): Promise<boolean> {
  if (!(await link(source, part).then(() => true, () => false))) return false;
  const linked = await lstat(part).catch(() => null);
  if (linked !== null && sameFile(linked, checked)) return true;
  await unlink(part).catch(() => {});
  return false;
}

async function copyChecked(handle: FileHandle, source: string, part: string, checked: Stats): Promise<FileIdentity | null> {
  // Linux names the open file itself: the copy reads what was checked, whatever the name leads to now.
  const from = process.platform === 'linux' ? `/proc/self/fd/${handle.fd}` : source;
  try {
    await copyFile(from, part, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
  } catch (error) {
    // EEXIST: a part file is there, not ours; anything else may have left a partial copy of ours.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') await unlink(part).catch(() => {});
    return null;
  }
  try {
    await chmod(part, checked.mode & 0o755);
    const copy = await lstat(part);
    if (copy.isFile() && copy.uid === process.getuid?.() && copy.nlink === 1) return copy;
    // Swapped already: the name is under our lock, whatever holds it goes.
    await unlink(part);
    return null;
  } catch {
    await unlink(part).catch(() => {});
    return null;
  }
}
