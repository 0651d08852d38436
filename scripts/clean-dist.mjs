#!/usr/bin/env node
// Before a package's build: deletes what dist/ holds for a source that is gone (a file moved or
// removed), so a pack never ships stale modules or maps that point at missing sources. Files of
// sources that still exist stay in place while tsc rewrites them: running tests keep working.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const dist = 'dist';
const sourceOf = (file) => file.replace(/\.map$/, '').replace(/\.(d\.ts|js)$/, '');

function walk(folder) {
  let stale = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) {
      stale += walk(path);
      if (readdirSync(path).length === 0) rmSync(path, { recursive: true });
    } else if (!['.ts', '.mts', '.tsx'].some((ext) => existsSync(join('src', `${sourceOf(relative(dist, path))}${ext}`)))) {
      rmSync(path);
      stale += 1;
    }
  }
  return stale;
}

if (existsSync(dist)) {
  const stale = walk(dist);
  if (stale > 0) process.stdout.write(`clean-dist: removed ${stale} file(s) of sources that no longer exist\n`);
}
