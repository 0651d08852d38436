import { homedir } from 'node:os';
import { join } from 'node:path';
import { type DownloaderConfigOptions, NectarArgumentError, NectarError, type ResolvedConfig } from '@nectar/core/backend';
import { parseFingerprint } from './host-key.js';
import type { PrivateKeySource } from './private-keys.js';

/** The config fields SftpDownloader reads beyond core's; pass them to DownloaderConfig. */
export interface SftpConfigOptions extends DownloaderConfigOptions {
  /**
   * Private keys (OpenSSH or PEM format) to log in with, one or several: a login tries them in
   * turn, as OpenSSH tries its identities. Encrypted ones need config.sslClientKeyPassphrase.
   */
  sshPrivateKey?: string | Buffer | readonly (string | Buffer)[];
  /** The files of those keys, one or several, tried in this order (read once, when the downloader opens the backend). */
  sshPrivateKeyPath?: string | readonly string[];
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

/** The ssh* fields, checked and with their defaults. */
export interface SftpOptions {
  /** In the order logins try them; empty when none is configured. */
  readonly privateKeys: readonly PrivateKeySource[];
  /** For every encrypted key (core's sslClientKeyPassphrase). */
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

function privateKeysOf(config: ResolvedConfig): PrivateKeySource[] {
  const data = config.sshPrivateKey;
  const paths = config.sshPrivateKeyPath;
  if (data !== undefined && paths !== undefined) {
    throw new NectarArgumentError('config.sshPrivateKey and config.sshPrivateKeyPath are mutually exclusive: give the keys or their paths, not both', 'NECTAR_INVALID_CONFIG');
  }
  if (data !== undefined) return listOf(data, 'sshPrivateKey', isKeyData, 'a non-empty string or Buffer holding a key').map((key) => ({ data: key }));
  if (paths !== undefined) return listOf(paths, 'sshPrivateKeyPath', isPath, 'a non-empty string').map((path) => ({ path }));
  return [];
}

function isKeyData(value: unknown): value is string | Buffer {
  return (typeof value === 'string' || Buffer.isBuffer(value)) && value.length > 0;
}

function isPath(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** One value or an array of them, each checked; an error names the element at fault. */
function listOf<T>(value: unknown, field: keyof SftpConfigOptions, valid: (item: unknown) => item is T, what: string): T[] {
  if (!Array.isArray(value)) {
    if (!valid(value)) throw invalid(field, `must be ${what}, or an array of them; got ${describeValue(value)}`);
    return [value];
  }
  for (const [index, item] of value.entries()) {
    if (!valid(item)) throw invalid(`${field}[${index}]`, `must be ${what}, got ${describeValue(item)}`);
  }
  return [...value] as T[];
}

function describeValue(value: unknown): string {
  if (value === '') return 'an empty string';
  if (Buffer.isBuffer(value)) return value.length === 0 ? 'an empty Buffer' : 'a Buffer';
  return typeof value;
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
    privateKeys: privateKeysOf(config),
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
