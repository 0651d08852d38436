import { sshdSkipReason } from '../../src/testing.js';
import { clearSkip, recordSkip } from './skipped.js';

/**
 * vitest globalSetup: decides once whether the OpenSSH tests can run. Missing sshd fails the
 * run where servers are required (CI=true or NECTAR_REQUIRE_SERVERS=1: sshdSkipReason throws);
 * elsewhere the tests skip and the teardown prints one line saying what was skipped and how to
 * install the server, on stderr after vitest's summary (and again after turbo's output, from the
 * root `posttest`).
 */
export default function setup(): () => void {
  const reason = sshdSkipReason();
  if (reason === null) {
    clearSkip('@nectar/sftp');
    return () => {};
  }
  const line = recordSkip('@nectar/sftp', `SKIPPED @nectar/sftp: the SFTP tests against OpenSSH (sftp, hostile, conformance) did not run: ${reason}`);
  return () => {
    process.stderr.write(`\n${line}\n`);
  };
}
