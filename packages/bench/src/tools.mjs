// The external programs the harness runs, found in PATH (and the sbin folders, where Debian puts
// nginx and sshd but a non-root PATH often lacks them).
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const EXTRA_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin'];

/** The Debian package that provides each program: what the skip message tells you to install. */
export const APT_PACKAGES = {
  nginx: 'nginx',
  curl: 'curl',
  aria2c: 'aria2',
  wget: 'wget',
  cp: 'coreutils',
  xargs: 'findutils',
  sftp: 'openssh-client',
  sshd: 'openssh-server',
  time: 'time',
};

/** Absolute path of `program`, or null when it is not installed. */
export function findProgram(program) {
  if (program.includes('/')) return isExecutable(program) ? program : null;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_DIRS].filter(Boolean);
  for (const dir of dirs) {
    const path = join(dir, program);
    if (isExecutable(path)) return path;
  }
  return null;
}

/** Why `programs` cannot run here, naming the apt package, or null when all are installed. */
export function missingProgramReason(programs) {
  const missing = programs.filter((p) => findProgram(p) === null);
  if (missing.length === 0) return null;
  const packages = [...new Set(missing.map((p) => APT_PACKAGES[p] ?? p))];
  return `${missing.join(', ')} not installed (apt-get install ${packages.join(' ')})`;
}

// Each tool prints its version differently; some to stderr.
const VERSION_COMMANDS = {
  curl: ['curl', ['--version']],
  aria2c: ['aria2c', ['--version']],
  wget: ['wget', ['--version']],
  nginx: ['nginx', ['-v']],
  openssh: ['ssh', ['-V']],
  cp: ['cp', ['--version']],
};

/** First line of each installed tool's version text, for the JSON's record of the machine. */
export function toolVersions() {
  const versions = {};
  for (const [name, [program, args]] of Object.entries(VERSION_COMMANDS)) {
    const path = findProgram(program);
    versions[name] = path === null ? null : firstLine(path, args);
  }
  return versions;
}

function firstLine(path, args) {
  const { stdout, stderr } = spawnSync(path, args, { encoding: 'utf8', timeout: 5000 });
  // nginx -v and ssh -V print to stderr.
  const text = stdout?.trim() ? stdout : (stderr ?? '');
  return text.split('\n')[0].trim() || null;
}

function isExecutable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
