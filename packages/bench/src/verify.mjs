// A run counts only if its folder holds exactly the files and bytes asked for: a tool that exits
// 0 after a 404, or a downloader that leaves a part file behind, must not look fast.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** null when `dir` holds `files` regular files of `bytes` bytes in total, else what differs. */
export async function checkDownloaded(dir, { files, bytes }) {
  const names = await readdir(dir, { recursive: true });
  let count = 0;
  let total = 0;
  for (const name of names) {
    const info = await stat(join(dir, name));
    if (!info.isFile()) continue;
    count += 1;
    total += info.size;
  }
  if (count === files && total === bytes) return null;
  return `expected ${files} files of ${bytes} bytes in total, found ${count} files of ${total} bytes`;
}
