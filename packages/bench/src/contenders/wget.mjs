// wget downloads one file at a time; to compare at the same concurrency, xargs runs 8 wget
// processes in parallel, each over an eighth of the list (each reuses its own connection).
// Peak RSS is then that of the largest single wget, CPU the sum of all of them.
import { missingProgramReason } from '../tools.mjs';

export const wget = {
  id: 'wget',
  name: 'wget ×8 (xargs -P 8)',
  family: 'tool',
  transports: ['http', 'https'],
  unavailable: () => missingProgramReason(['wget', 'xargs']),
  command(workload, inputs) {
    const perProcess = Math.ceil(workload.files / inputs.concurrency);
    const ca = inputs.caPath === null ? [] : [`--ca-certificate=${inputs.caPath}`];
    return {
      program: 'xargs',
      args: ['-a', inputs.urlList, '-P', String(inputs.concurrency), '-n', String(perProcess), 'wget', '--no-config', '-q', '-P', inputs.dest, ...ca],
    };
  },
};
