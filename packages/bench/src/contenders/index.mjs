// Every contender, in the order they run within a round and appear in the table.
import { aria2c } from './aria2c.mjs';
import { axiosPlainLoop, nectarAxios } from './axios.mjs';
import { cp } from './cp.mjs';
import { curl } from './curl.mjs';
import { nectarFile } from './file.mjs';
import { nectarGet } from './nectar-cli.mjs';
import { nodeStartup } from './node-startup.mjs';
import { opensshSftp } from './openssh-sftp.mjs';
import { nectarSftp } from './sftp.mjs';
import { undiciDefault, undiciInProcess, undiciThreaded } from './undici.mjs';
import { undiciLoop } from './undici-loop.mjs';
import { wget } from './wget.mjs';

export const contenders = [
  curl,
  aria2c,
  undiciLoop,
  undiciDefault,
  nectarGet,
  nodeStartup,
  undiciThreaded,
  undiciInProcess,
  nectarAxios,
  axiosPlainLoop,
  wget,
  cp,
  nectarFile,
  opensshSftp,
  nectarSftp,
];

/** The contenders that can run `workload`: by transport and file set, or the workload's own list. */
export function contendersFor(workload) {
  return contenders.filter(
    (c) =>
      c.transports.includes(workload.transport) &&
      (c.sets ?? [workload.set.name]).includes(workload.set.name) &&
      (workload.contenders ?? [c.id]).includes(c.id),
  );
}
