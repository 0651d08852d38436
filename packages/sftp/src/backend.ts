import { type Backend, NectarError, type ResolvedConfig, type Supports, supportsAll } from '@nectar/core/backend';
import type { HostKeyPolicy } from './host-key.js';
import { KnownHosts } from './known-hosts.js';
import { type SftpConfigOptions, type SftpOptions, sftpOptions } from './options.js';
import { ConnectionPool } from './pool.js';
import { loadPrivateKeys } from './private-keys.js';
import { type Opened, transfer } from './transfer.js';

/** `tls` stands for host-key verification: `sslValidation: false` turns it off. */
const supports: Supports = {
  ...supportsAll(false),
  basicAuth: true,
  tls: true,
  maxSpeed: true,
  streamDestination: true,
  resume: true,
  // Core's engine runs re-syncs and the after-headers hook for every backend it composes.
  state: true,
  afterHeaders: true,
};

/**
 * Nectar's sftp:// backend on ssh2-sftp-client, as a plain object for `ComposedDownloader` or a
 * registry. `open()` reads the ssh* fields of the downloader's config (`options` win over them),
 * its known_hosts and private keys, and makes one connection pool per downloader: connections
 * are pooled per host and user and shared by concurrent transfers.
 */
export function sftpBackend(options: SftpConfigOptions = {}): Backend {
  return backendReading((settings) => sftpOptions({ ...settings, ...defined(options) }));
}

/** For SftpDownloader, whose constructor has already read (and checked) its config's ssh* fields. */
export function sftpBackendWith(ssh: SftpOptions): Backend {
  return backendReading(() => ssh);
}

function backendReading(read: (settings: ResolvedConfig) => SftpOptions): Backend {
  let opened: Opened | undefined;
  return {
    name: 'sftp',
    schemes: ['sftp'],
    supports,
    async open(env) {
      const ssh = read(env.settings);
      const [hostKeys, privateKeys] = await Promise.all([loadHostKeyPolicy(env.settings.sslValidation, ssh), loadPrivateKeys(ssh.privateKeys, ssh.passphrase)]);
      opened = { ssh, hostKeys, privateKeys: privateKeys.map((k) => k.key), pool: new ConnectionPool(ssh) };
    },
    transfer(job) {
      if (opened === undefined) return Promise.reject(new NectarError('NECTAR_BACKEND', 'the sftp backend was not opened'));
      return transfer(opened, job);
    },
    async close() {
      // Kept after close: the closed pool refuses later transfers with NECTAR_CLOSED.
      await opened?.pool.close();
    },
  };
}

/** An option left undefined does not hide the config's field of the same name. */
function defined(options: SftpConfigOptions): Partial<SftpConfigOptions> {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

async function loadHostKeyPolicy(validate: boolean, options: SftpOptions): Promise<HostKeyPolicy> {
  if (!validate) return { kind: 'off' };
  if (options.fingerprint !== null) return { kind: 'fingerprint', fingerprint: options.fingerprint };
  const { paths, required } = options.knownHosts;
  try {
    return { kind: 'known-hosts', knownHosts: await KnownHosts.load(paths, required) };
  } catch (error) {
    throw new NectarError('NECTAR_INVALID_CONFIG', `config.sshKnownHostsPath: cannot read ${paths.join(', ')}: ${(error as Error).message}`, {
      cause: error,
      details: { field: 'sshKnownHostsPath' },
    });
  }
}
