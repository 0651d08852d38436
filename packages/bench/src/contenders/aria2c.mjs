// aria2c: 8 downloads at once (-j), one connection each (-x 1), no preallocation (its default
// writes every byte twice on ext4, which no other contender does).
import { missingProgramReason } from '../tools.mjs';

export const aria2c = {
  id: 'aria2c',
  name: 'aria2c -j 8',
  family: 'tool',
  transports: ['http', 'https'],
  unavailable: () => missingProgramReason(['aria2c']),
  command(_workload, inputs) {
    const ca = inputs.caPath === null ? [] : [`--ca-certificate=${inputs.caPath}`];
    return {
      program: 'aria2c',
      args: [
        '-i', inputs.urlList, '-d', inputs.dest,
        '-j', String(inputs.concurrency), '-x', '1', '-s', '1',
        '--file-allocation=none', '--allow-overwrite=true', '--auto-file-renaming=false',
        '--console-log-level=error', '--summary-interval=0', '--download-result=hide',
        ...ca,
      ],
    };
  },
};
