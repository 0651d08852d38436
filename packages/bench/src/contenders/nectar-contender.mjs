// What every Nectar library contender shares: it runs src/nectar-client.mjs with one backend and config.
import { fileURLToPath } from 'node:url';
import { backendUnavailable } from '../backends.mjs';

const CLIENT = fileURLToPath(new URL('../nectar-client.mjs', import.meta.url));

/**
 * A contender that runs `backend` over `transports`; `config(workload, inputs)` gives the config
 * fields beyond the trust every client gets (SSH keys, threads, http2); `variants`, the only
 * workload variants it runs in (see contendersFor). No maxConcurrent: the library's
 * default is what every other contender is told (CONCURRENCY).
 */
export function nectarContender({ id, name, backend, transports, variants, optIn = false, config = () => ({}) }) {
  return {
    id,
    name,
    family: 'nectar',
    transports,
    ...(variants === undefined ? {} : { variants }),
    backend,
    optIn,
    unavailable: () => backendUnavailable(backend),
    /** The config fields this contender downloads with: also what the probes use. */
    fields(workload, inputs) {
      return { ...inputs.trust, ...config(workload, inputs) };
    },
    command(workload, inputs) {
      const fields = this.fields(workload, inputs);
      return {
        program: process.execPath,
        args: [CLIENT, '--backend', backend, '--list', inputs.urlList, '--dest', inputs.dest, '--config', JSON.stringify(fields)],
      };
    },
  };
}
