// The files every contender downloads: generated once per run, removed at the end.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MiB } from './sizes.mjs';

/**
 * Writes the file sets named in `needed` under `root` (small/N.bin, medium/N.bin, large.bin,
 * one.bin). Random data, so that no layer (TLS, filesystem, page cache dedup) gets an easy ride
 * on zeros; folders are world-readable because nginx's workers run as `nobody` under root.
 */
export async function writeCorpus(root, sets, needed) {
  await mkdir(root, { recursive: true });
  await chmod(root, 0o755);
  for (const name of needed) await writeSet(root, sets[name]);
}

/** Relative paths (from the corpus root) of a set's files, in a stable order. */
export function setFiles(set) {
  if (set.count === 1) return [`${set.name}.bin`];
  return Array.from({ length: set.count }, (_, i) => `${set.name}/${i}.bin`);
}

async function writeSet(root, set) {
  // Never a gigabyte in memory: the large file is written in chunks.
  if (set.size > 8 * MiB) return writeLargeFile(join(root, setFiles(set)[0]), set.size);
  if (set.count > 1) await mkdir(join(root, set.name), { recursive: true, mode: 0o755 });
  for (const name of setFiles(set)) await writeFile(join(root, name), randomBytes(set.size), { mode: 0o644 });
}

/**
 * A large file fast: one random MiB repeated, each copy stamped with its index so no two MiB
 * are equal. Written in 8 MiB chunks; every byte is on disk (not sparse), as a download's is.
 */
async function writeLargeFile(path, size) {
  const block = randomBytes(MiB);
  const chunk = Buffer.alloc(8 * MiB);
  const file = await open(path, 'w', 0o644);
  try {
    for (let offset = 0; offset < size; offset += chunk.length) {
      const length = Math.min(chunk.length, size - offset);
      for (let at = 0; at < length; at += MiB) {
        block.copy(chunk, at);
        chunk.writeUInt32LE((offset + at) / MiB, at);
      }
      await file.write(chunk, 0, length);
    }
  } finally {
    await file.close();
  }
}
