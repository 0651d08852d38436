import { homedir } from 'node:os';
import { join } from 'node:path';
import { type DownloaderConfigOptions, NectarArgumentError, NectarError, type ResolvedConfig } from '@nectar/core/backend';
import { parseFingerprint } from './host-key.js';

/** The config fields SftpDownloader reads beyond core's; pass them to DownloaderConfig. */
export interface SftpConfigOptions extends DownloaderConfigOptions {
  /** A private key (OpenSSH or PEM format) to log in with; encrypted ones need config.sslClientKeyPassphrase. */
  sshPrivateKey?: string | Buffer;
  /** The file of that private key (read once, when the downloader opens the backend). */
  sshPrivateKeyPath?: string;
  /** known_hosts file to verify servers with (default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts). */
  sshKnownHostsPath?: string;
  /** The one host key every server must present, as `ssh-keygen -l` prints it: `SHA256:…`. */
  sshHostKeyFingerprint?: string;
  /** An ssh-agent socket to log in with (e.g. process.env.SSH_AUTH_SOCK). Never used unless given. */
  sshAgent?: string;
  /** SSH connections kept open per host and user (default min(maxConcurrent, 4)). */
  sshConnectionsPerHost?: number;
  /** Milliseconds an unused connection stays open before it is closed; 0 keeps it until close() (default 5000). */
  sshIdleTimeout?: number;
}

export type PrivateKeySource = { readonly data: string | Buffer } | { readonly path: string };

/** The ssh* fields, checked and with their defaults. */
export interface SftpOptions {
  readonly privateKey: PrivateKeySource | null;
  readonly passphrase: string | undefined;
  readonly agent: string | undefined;
  readonly fingerprint: string | null;
  readonly knownHosts: { readonly paths: readonly string[]; readonly required: boolean };
  readonly connectionsPerHost: number;
  readonly idleTimeout: number;
}

export const defaultIdleTimeout = 5_000;
const maxDefaultConnections = 4;

function invalid(field: string, message: string): NectarArgumentError {
  return new NectarArgumentError(`config.${field} ${message}`, 'NECTAR_INVALID_CONFIG');
}

function optionalString(config: ResolvedConfig, field: keyof SftpConfigOptions): string | undefined {
  const value = config[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw invalid(field, `must be a non-empty string, got ${typeof value}`);
  return value;
}

function optionalInteger(config: ResolvedConfig, field: keyof SftpConfigOptions, min: number): number | undefined {
  const value = config[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw invalid(field, `must be an integer ≥ ${min}, got ${String(value)}`);
  return value;
}

function privateKeyOf(config: ResolvedConfig): PrivateKeySource | null {
  const data = config.sshPrivateKey;
  const path = optionalString(config, 'sshPrivateKeyPath');
  if (data !== undefined && path !== undefined) {
    throw new NectarArgumentError('config.sshPrivateKey and config.sshPrivateKeyPath are mutually exclusive: give the key or its path, not both', 'NECTAR_INVALID_CONFIG');
  }
  if (data !== undefined) {
    if (!(typeof data === 'string' || Buffer.isBuffer(data)) || data.length === 0) throw invalid('sshPrivateKey', 'must be a non-empty string or Buffer holding the key');
    return { data };
  }
  return path === undefined ? null : { path };
}

function fingerprintOf(config: ResolvedConfig): string | null {
  const value = optionalString(config, 'sshHostKeyFingerprint');
  if (value === undefined) return null;
  const fingerprint = parseFingerprint(value);
  if (fingerprint === null) throw invalid('sshHostKeyFingerprint', `must look like 'SHA256:<43 base64 characters>' (ssh-keygen -l -f key.pub), got ${JSON.stringify(value)}`);
  if (config.sslValidation === false) {
    throw new NectarArgumentError('config.sshHostKeyFingerprint pins a host key but config.sslValidation: false turns host-key checks off: give one or the other', 'NECTAR_INVALID_CONFIG');
  }
  return fingerprint;
}

/** Reads and checks the ssh* fields; a config that cannot work fails here, naming the field. */
export function sftpOptions(config: ResolvedConfig): SftpOptions {
  const knownHostsPath = optionalString(config, 'sshKnownHostsPath');
  const fingerprint = fingerprintOf(config);
  if (fingerprint !== null && knownHostsPath !== undefined) {
    throw new NectarArgumentError('config.sshHostKeyFingerprint and config.sshKnownHostsPath are mutually exclusive: pin one key or trust a known_hosts file', 'NECTAR_INVALID_CONFIG');
  }
  return {
    privateKey: privateKeyOf(config),
    passphrase: config.sslClientKeyPassphrase,
    agent: optionalString(config, 'sshAgent'),
    fingerprint,
    knownHosts: knownHostsPath === undefined ? { paths: defaultKnownHosts(), required: false } : { paths: [knownHostsPath], required: true },
    connectionsPerHost: optionalInteger(config, 'sshConnectionsPerHost', 1) ?? Math.min(config.maxConcurrent, maxDefaultConnections),
    idleTimeout: optionalInteger(config, 'sshIdleTimeout', 0) ?? defaultIdleTimeout,
  };
}

/** Where OpenSSH's ssh looks by default: the user's file, then the system-wide one. */
function defaultKnownHosts(): string[] {
  return [join(homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
}

/** TLS trust settings mean nothing to SSH; like any unsupported field they fail the request. */
const tlsOnlyFields = ['sslCaCert', 'sslCaCertPath'] as const;

export function rejectTlsOnlyFields(config: ResolvedConfig): void {
  for (const field of tlsOnlyFields) {
    if (config[field] === undefined) continue;
    throw new NectarError(
      'NECTAR_NOT_SUPPORTED',
      `config.${field} is not supported by SftpDownloader: SSH servers prove their identity by host key (config.sshKnownHostsPath, config.sshHostKeyFingerprint), not by a CA`,
      { details: { field, capability: 'tls' } },
    );
  }
}
