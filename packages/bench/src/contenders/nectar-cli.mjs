// The `nectar` command as a user runs it: `nectar get -i LIST -d DIR` (or one URL), its defaults
// untouched; -q only drops the per-file lines, as curl's --silent and aria2c's log level do.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageUnavailable } from '../backends.mjs';

/** Absolute path of the package's `nectar` bin, or null when @nectar/cli is not installed. */
export function nectarBin() {
  let manifest;
  try {
    manifest = fileURLToPath(import.meta.resolve('@nectar/cli/package.json'));
  } catch {
    return null;
  }
  const { bin } = JSON.parse(readFileSync(manifest, 'utf8'));
  return join(dirname(manifest), typeof bin === 'string' ? bin : bin.nectar);
}

/**
 * Why the CLI cannot run (not installed or not built), or null when it can. Its bin is a committed
 * shim that imports dist/; which file there is the CLI's business, so "built" means its main
 * export exists.
 */
export const cliUnavailable = () => packageUnavailable('@nectar/cli');

export const nectarGet = {
  id: 'nectar-get',
  name: 'nectar get',
  family: 'nectar',
  transports: ['http', 'https'],
  unavailable: cliUnavailable,
  command(workload, inputs) {
    const source = workload.files === 1 ? [inputs.firstUrl] : ['-i', inputs.urlList];
    const ca = inputs.caPath === null ? [] : ['--cacert', inputs.caPath];
    return { program: process.execPath, args: [nectarBin(), 'get', ...source, '-d', inputs.dest, '-q', ...ca] };
  },
};
