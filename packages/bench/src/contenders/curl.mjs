// curl --parallel: the reference for every HTTP(S) workload. The URLs come from a config file
// (-K) because 2,000 of them overflow no command line but make one unreadable.
import { missingProgramReason } from '../tools.mjs';

export const curl = {
  id: 'curl',
  name: 'curl --parallel',
  family: 'tool',
  transports: ['http', 'https'],
  unavailable: () => missingProgramReason(['curl']),
  command(_workload, inputs) {
    const ca = inputs.caPath === null ? [] : ['--cacert', inputs.caPath];
    return {
      program: 'curl',
      args: [
        '--parallel', '--parallel-max', String(inputs.concurrency),
        '--silent', '--show-error', '--fail',
        '--remote-name-all', '--output-dir', inputs.dest,
        ...ca, '-K', inputs.curlConfig,
      ],
    };
  },
};
