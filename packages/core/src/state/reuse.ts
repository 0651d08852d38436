import { constants } from 'node:fs';
import { copyFile, link, rename, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { holdDestination, partPath } from '../output/destination.js';
import type { ExpectedDigest } from '../request.js';
import { type DiskCopy, diskCopy, hasDigest, matchesRecord } from './disk-copy.js';
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
    await link(source, part).catch(() => copyFile(source, part, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE));
    // Verified after placing, not before: the bytes checked are the ones that will stay.
    if (!(await hasDigest(part, expected))) {
      await unlink(part);
      return null;
    }
    await rename(part, destination);
    return await diskCopy(destination);
  } catch {
    await unlink(part).catch(() => {});
    return null;
  } finally {
    await release();
  }
}
