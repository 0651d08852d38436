#!/usr/bin/env node
// Before core's build: writes src/version.ts from package.json, so that the version is a constant
// in the code (a bundled application has no package.json beside core to read at run time) and a
// changesets bump still needs no hand edit. Writes only when the version changed.
import { readFileSync, writeFileSync } from 'node:fs';

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const target = new URL('../src/version.ts', import.meta.url);
const text = `// Written by scripts/write-version.mjs from package.json at every build: a constant, not a file read
// at run time, so that an application bundled with esbuild, Rollup or webpack knows it too.
export const version: string = '${version}';
`;

let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {
  // First build of a fresh checkout without the file: written below.
}
if (current !== text) {
  writeFileSync(target, text);
  process.stdout.write(`write-version: src/version.ts now says ${version}\n`);
}
