// The loop a user writes instead of Nectar: undici's request() piped into a file per URL, as
// many at once as Nectar's default. The small-file target is measured against it.
import { fileURLToPath } from 'node:url';
import { packageUnavailable } from '../backends.mjs';

const LOOP_CLIENT = fileURLToPath(new URL('../undici-loop-client.mjs', import.meta.url));

/** How a hand-written undici client script runs a workload: the list, the folder, the concurrency, the test CA. */
export function undiciClientCommand(client, inputs) {
  const ca = inputs.caPath === null ? [] : ['--ca', inputs.caPath];
  return {
    program: process.execPath,
    args: [client, '--list', inputs.urlList, '--dest', inputs.dest, '--concurrency', String(inputs.concurrency), ...ca],
  };
}

export const undiciLoop = {
  id: 'undici-loop',
  name: 'bare undici.request loop',
  family: 'loop',
  transports: ['http', 'https'],
  unavailable: () => packageUnavailable('@nectar/undici'),
  command: (_workload, inputs) => undiciClientCommand(LOOP_CLIENT, inputs),
};
