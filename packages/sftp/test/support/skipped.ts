import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a package's tests record a group they skipped because a server is not installed; the
 * root `posttest` script (scripts/test-skips.mjs) prints every record after turbo's output.
 */
const records = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'), 'node_modules/.cache/nectar-test-skips');

/**
 * Records one skipped group and returns the line that says so. The file is named after the
 * package, so a re-run replaces its line and never adds a second.
 */
export function recordSkip(packageName: string, line: string): string {
  mkdirSync(records, { recursive: true });
  writeFileSync(join(records, `${packageName.replace(/[^a-z0-9.-]+/gi, '_')}.txt`), `${line}\n`);
  return line;
}

/** Forgets this package's record: its servers were found this time. */
export function clearSkip(packageName: string): void {
  rmSync(join(records, `${packageName.replace(/[^a-z0-9.-]+/gi, '_')}.txt`), { force: true });
}
