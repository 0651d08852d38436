// @nectar/sftp against the local OpenSSH server of @nectar/sftp/testing.
import { nectarContender } from './nectar-contender.mjs';

export const nectarSftp = nectarContender({
  id: 'nectar-sftp',
  name: 'sftp',
  backend: 'sftp',
  transports: ['sftp'],
  config: (_workload, inputs) => ({ ...inputs.sftp.config }),
});
