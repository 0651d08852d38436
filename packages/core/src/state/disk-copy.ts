import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, lstat } from 'node:fs/promises';
import type { ExpectedDigest } from '../request.js';
import type { StateRecord } from './store.js';

/** What lstat() says of a file on disk, as far as a state record compares it. */
export interface DiskCopy {
  readonly size: number;
  readonly mtimeNs: string;
  readonly mtimeMs: number;
}

/** The regular file at `path`, or null: a missing name, a folder or a symlink is no copy of ours. */
export async function diskCopy(path: string): Promise<DiskCopy | null> {
  const stat = await lstat(path, { bigint: true }).catch(() => null);
  if (stat === null || !stat.isFile()) return null;
  return { size: Number(stat.size), mtimeNs: stat.mtimeNs.toString(), mtimeMs: Number(stat.mtimeMs) };
}

/**
 * Whether the file is still the one the record describes. Size and mtime, as rsync and make
 * judge: a neighbour who rewrote it changed at least the mtime, and then the copy is fetched again.
 */
export function matchesRecord(record: StateRecord, copy: DiskCopy | null): copy is DiskCopy {
  return copy !== null && copy.size === record.size && copy.mtimeNs === record.mtimeNs;
}

/** The hex digest of a file's bytes, read through a stream. */
export async function fileDigest(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The hex digest of an open file's bytes, from its start; the handle stays open. */
export async function handleDigest(handle: FileHandle, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of handle.createReadStream({ start: 0, autoClose: false })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function hasDigest(path: string, expected: ExpectedDigest): Promise<boolean> {
  return (await fileDigest(path, expected.algorithm).catch(() => null)) === expected.value.toLowerCase();
}
