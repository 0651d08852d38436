#!/usr/bin/env node
// Part of a package's `npm run lint`: what `npm pack` would publish holds the LICENSE, and every
// source map (.js.map, .d.ts.map) in it points only at sources that are in the pack too.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

const [pack] = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { encoding: 'utf8' }));
const files = new Set(pack.files.map((file) => normalize(file.path)));
const problems = [];
if (![...files].some((file) => /^licen[cs]e(\.|$)/i.test(file))) problems.push('no LICENSE file in the pack');
for (const file of files) {
  if (!file.endsWith('.map')) continue;
  const map = JSON.parse(readFileSync(file, 'utf8'));
  for (const source of map.sources ?? []) {
    const path = normalize(join(dirname(file), map.sourceRoot ?? '', source));
    if (!files.has(path)) problems.push(`${file} points at ${path}, which is not in the pack`);
  }
}
if (problems.length > 0) {
  process.stderr.write(`${pack.name}: ${problems.length} packing problem(s):\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  process.exit(1);
}
process.stdout.write(`${pack.name}: pack holds LICENSE and the sources of its ${[...files].filter((f) => f.endsWith('.map')).length} source maps\n`);
