// cp for one file, `cp -r` for a set: the reference for file:// workloads.
import { missingProgramReason } from '../tools.mjs';

export const cp = {
  id: 'cp',
  name: 'cp / cp -r',
  family: 'tool',
  transports: ['file'],
  unavailable: () => missingProgramReason(['cp']),
  command(workload, inputs) {
    const recursive = workload.files > 1 ? ['-r'] : [];
    return { program: 'cp', args: [...recursive, inputs.source, `${inputs.dest}/`] };
  },
};
