// OpenSSH's sftp in batch mode: the reference for SFTP workloads. It fetches one file at a time
// over one connection (64 requests in flight per file); there is no option for more, so it runs
// at its own concurrency, not at 8.
import { missingProgramReason } from '../tools.mjs';

export const opensshSftp = {
  id: 'openssh-sftp',
  name: 'OpenSSH sftp -b',
  family: 'tool',
  transports: ['sftp'],
  unavailable: () => missingProgramReason(['sftp']),
  command(workload, inputs) {
    const { port, clientKeyPath, knownHostsPath, username } = inputs.sftp;
    const remote = workload.files > 1 ? `${inputs.source}/*` : inputs.source;
    return {
      program: 'sftp',
      args: [
        '-q', '-P', String(port), '-i', clientKeyPath,
        '-o', `UserKnownHostsFile=${knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
        '-b', '-', `${username}@127.0.0.1`,
      ],
      input: `get ${remote} ${inputs.dest}/\n`,
    };
  },
};
