// Every contender, in the order they run within a round and appear in the table.
import { aria2c } from './aria2c.mjs';
import { axiosPlainLoop, nectarAxios } from './axios.mjs';
import { cp } from './cp.mjs';
import { curl, curlH2 } from './curl.mjs';
import { nectarFile } from './file.mjs';
import { nectarGet } from './nectar-cli.mjs';
import { nodeStartup } from './node-startup.mjs';
import { opensshSftp } from './openssh-sftp.mjs';
import { nectarSftp } from './sftp.mjs';
import { undiciDefault, undiciH1, undiciH2, undiciInProcess, undiciThreaded } from './undici.mjs';
import { undiciDispatchFloor } from './undici-dispatch.mjs';
import { undiciLoop } from './undici-loop.mjs';
import { wget } from './wget.mjs';

export const contenders = [
  curl,
  curlH2,
  aria2c,
  undiciLoop,
  undiciDispatchFloor,
  undiciDefault,
  nectarGet,
  nodeStartup,
  undiciThreaded,
  undiciInProcess,
  undiciH1,
  undiciH2,
  nectarAxios,
  axiosPlainLoop,
  wget,
  cp,
  nectarFile,
  opensshSftp,
  nectarSftp,
];

/**
 * The contenders that can run `workload`: by transport and file set, or the workload's own list.
 * A contender that names variants (curl-h2, undici-h1/-h2) runs only in workloads of those.
 */
export function contendersFor(workload) {
  return contenders.filter(
    (c) =>
      c.transports.includes(workload.transport) &&
      (c.sets ?? [workload.set.name]).includes(workload.set.name) &&
      (c.variants === undefined || c.variants.includes(workload.variant)) &&
      (workload.contenders ?? [c.id]).includes(c.id),
  );
}
