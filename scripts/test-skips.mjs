#!/usr/bin/env node
// The end of `npm test`: one line per group of tests skipped because a server it needs (sshd,
// redis-server) is not installed, printed after turbo's output where nobody misses it.
//   node scripts/test-skips.mjs clear    (pretest: forget the last run's records)
//   node scripts/test-skips.mjs report   (posttest: print this run's records on stderr)
// The records are written by packages/sftp and packages/queue (test/support/servers.ts).
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const records = join(fileURLToPath(new URL('..', import.meta.url)), 'node_modules/.cache/nectar-test-skips');
const command = process.argv[2];

if (command === 'clear') {
  rmSync(records, { recursive: true, force: true });
} else if (command === 'report') {
  let names = [];
  try {
    names = readdirSync(records).filter((name) => name.endsWith('.txt')).sort();
  } catch {
    // No record: nothing was skipped.
  }
  const lines = names.flatMap((name) => readFileSync(join(records, name), 'utf8').split('\n').filter(Boolean));
  if (lines.length > 0) {
    const count = lines.length === 1 ? 'One group of tests was' : `${lines.length} groups of tests were`;
    process.stderr.write(`\n${count} skipped because a server they need is not installed (CI fails instead):\n`);
    for (const line of lines) process.stderr.write(`  ${line}\n`);
  }
} else {
  process.stderr.write('usage: node scripts/test-skips.mjs clear|report\n');
  process.exit(2);
}
