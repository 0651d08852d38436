// What a contender needs to run a workload: the URL list (and curl's config file made from it),
// the source path for cp and OpenSSH, and the TLS or SSH trust for our backends.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFiles } from './corpus.mjs';
import { CONCURRENCY } from './sizes.mjs';

/**
 * Writes `<id>.urls` and `<id>.curl` under `listsDir` and returns the inputs of `workload`;
 * each run adds its own `dest`. `servers` holds whichever of nginx, tls and sftp are running.
 */
export async function prepareInputs(workload, { listsDir, corpusRoot, servers }) {
  const files = setFiles(workload.set);
  const urls = files.map((name) => urlOf(workload.transport, name, corpusRoot, servers));
  const urlList = join(listsDir, `${workload.id}.urls`);
  const curlConfig = join(listsDir, `${workload.id}.curl`);
  await writeFile(urlList, `${urls.join('\n')}\n`);
  await writeFile(curlConfig, urls.map((u) => `url = "${u}"\n`).join(''));
  const https = workload.transport === 'https';
  return {
    concurrency: CONCURRENCY,
    urlList,
    firstUrl: urls[0],
    curlConfig,
    source: join(corpusRoot, files.length > 1 ? workload.set.name : files[0]),
    caPath: https ? servers.tls.caPath : null,
    trust: https ? { sslCaCertPath: servers.tls.caPath } : {},
    sftp: workload.transport === 'sftp' ? sftpInputs(servers.sftp) : null,
  };
}

/** The URL of corpus file `name` (relative to the corpus root) over `transport`. */
export function urlOf(transport, name, corpusRoot, servers) {
  const path = join(corpusRoot, name);
  switch (transport) {
    case 'http':
    case 'https':
      return `${servers.nginx.baseUrl(transport)}/${name}`;
    case 'file':
      return pathToFileURL(path).href;
    case 'sftp':
      // The fixture's sshd serves the whole filesystem (no chroot): the corpus is served in place.
      return `sftp://${encodeURIComponent(servers.sftp.username)}@127.0.0.1:${servers.sftp.port}${encodePath(path)}`;
    default:
      throw new Error(`no URL for transport ${transport}`);
  }
}

function sftpInputs(fixture) {
  const { port, clientKeyPath, knownHostsPath, username, config } = fixture;
  return { port, clientKeyPath, knownHostsPath, username, config: { ...config } };
}

function encodePath(path) {
  return path.split('/').map(encodeURIComponent).join('/');
}
