import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sshdSkipReason } from '@nectar/sftp/testing';

/**
 * Where the root `posttest` (scripts/test-skips.mjs) finds the groups of tests skipped for want
 * of a server; one file per package, so a re-run replaces its line.
 */
const record = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'), 'node_modules/.cache/nectar-test-skips', '@nectar_cli.txt');

/**
 * vitest globalSetup: whether the CLI's SFTP tests can run. Where servers are required (CI=true,
 * NECTAR_REQUIRE_SERVERS=1) a missing sshd fails the run (sshdSkipReason throws); elsewhere the
 * tests skip, and the teardown says so on stderr after vitest's summary.
 */
export default function setup(): () => void {
  const reason = sshdSkipReason();
  if (reason === null) {
    rmSync(record, { force: true });
    return () => {};
  }
  const line = `SKIPPED @nectar/cli: the sftp: tests of nectar get (test/sftp.test.ts) did not run: ${reason}`;
  mkdirSync(dirname(record), { recursive: true });
  writeFileSync(record, `${line}\n`);
  return () => {
    process.stderr.write(`\n${line}\n`);
  };
}
