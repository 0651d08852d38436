import type { DownloaderConfigOptions, ExpectedDigest } from '@nectar/core';
import { type GetOptions, UsageError } from './args.js';
import { withScheme } from './urls.js';

const SUFFIXES: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

/** "500K" → 512000, "2M", "1.5G", "1000": 1024-based, as wget and curl read them. */
export function parseSize(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) * SUFFIXES[match[2]!.toUpperCase()]!;
  if (!(value >= 1)) throw new UsageError(`${option} must be a size like 500K, 2M or 1G, got ${JSON.stringify(text)}`);
  return Math.round(value);
}

/** Seconds, like curl (fractions allowed), to the milliseconds core counts in. */
export function parseSeconds(text: string, option: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`${option} must be a number of seconds, got ${JSON.stringify(text)}`);
  }
  return Math.round(seconds * 1000);
}

export function parseCount(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${option} must be a whole number of at least ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** "Name: value" → [name, value]; curl's form. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(':');
  if (colon <= 0) throw new UsageError(`-H must be 'Name: value', got ${JSON.stringify(text)}`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** "user:pass" → both; "user" alone → an empty password (nectar never prompts). */
export function parseCredentials(text: string, option: string): { username: string; password: string } {
  const colon = text.indexOf(':');
  const username = colon < 0 ? text : text.slice(0, colon);
  if (username === '') throw new UsageError(`${option} must be USER:PASSWORD with a user name`);
  return { username, password: colon < 0 ? '' : text.slice(colon + 1) };
}

/** "sha256:9f86…" → { algorithm, value }; core checks that the algorithm exists. */
export function parseChecksum(text: string): ExpectedDigest {
  const match = /^([\w-]+):([0-9a-f]+)$/i.exec(text.trim());
  if (match === null) throw new UsageError(`--checksum must be ALGORITHM:HEX (sha256:9f86…), got ${JSON.stringify(text)}`);
  return { algorithm: match[1]!.toLowerCase(), value: match[2]!.toLowerCase() };
}

/**
 * The fields of @nectar/sftp's `SftpConfigOptions` that the CLI sets (the tests check they still
 * fit it). Declared here: @nectar/sftp is an optional peer, and these types must not need it.
 */
export interface SshConfigFields {
  /** Tried in turn, as ssh tries its identities. */
  sshPrivateKeyPath?: string[];
  sshAgent?: string;
  sshKnownHostsPath?: string;
}

/** Where the passphrase of encrypted SSH keys may come from instead of the command line (which `ps` shows). */
export const SSH_PASSPHRASE_ENV = 'NECTAR_SSH_PASSPHRASE';

/** What the options ask for: core's fields, and the sftp backend's (other backends ignore them). */
export type CliConfigOptions = DownloaderConfigOptions & SshConfigFields;

/** The DownloaderConfig fields the options ask for; core validates the result again. */
export function configFromOptions(o: GetOptions): CliConfigOptions {
  const config: CliConfigOptions = {
    ...transferFields(o),
    ...politenessFields(o),
    ...credentialFields(o),
    ...proxyFields(o),
    ...tlsFields(o),
    ...timeFields(o),
    ...sshFields(o),
  };
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
}

function transferFields(o: GetOptions): DownloaderConfigOptions {
  return {
    maxConcurrent: optional(o['max-concurrent'], (v) => parseCount(v, '--max-concurrent', 1)),
    maxSpeed: optional(o['limit-rate'], (v) => parseSize(v, '--limit-rate')),
    maxFileSize: optional(o['max-filesize'], (v) => parseSize(v, '--max-filesize')),
    maxRedirects: optional(o['max-redirs'], (v) => parseCount(v, '--max-redirs', 0)),
    trustRedirects: o['location-trusted'],
    decompress: o.compressed,
    userAgent: o['user-agent'],
    // -c keeps what a failed or canceled download wrote; core resumes from it on the next run.
    keepPartial: o.continue,
    // -N: core asks If-Modified-Since with the file's mtime and stamps the server's Last-Modified on it.
    ifModifiedSince: o.timestamping,
    state: o.state,
    headers: o.header === undefined ? undefined : headers(o.header),
  };
}

/** Per-host limits and HTTP/2: how the run treats each server. */
function politenessFields(o: GetOptions): DownloaderConfigOptions {
  if (o['max-per-host'] !== undefined && o['parallel-max-host'] !== undefined) throw new UsageError('--max-per-host and --parallel-max-host are the same option: give one');
  const perHost = o['max-per-host'] ?? o['parallel-max-host'];
  return {
    maxPerHost: optional(perHost, (v) => parseCount(v, o['max-per-host'] === undefined ? '--parallel-max-host' : '--max-per-host', 1)),
    hostRate: optional(o['host-rate'], parseRate),
    maxSpeedPerHost: optional(o['limit-rate-per-host'], (v) => parseSize(v, '--limit-rate-per-host')),
    maxBytesInFlight: optional(o['max-bytes-in-flight'], (v) => parseSize(v, '--max-bytes-in-flight')),
    http2: o.http2,
  };
}

const RATE_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600 };

/** "5", "5/s", "30/m", "0.5/s", "100/h" → requests per second. */
export function parseRate(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|min|h))?$/i.exec(text.trim());
  const rate = match === null ? Number.NaN : Number(match[1]) / (RATE_UNITS[(match[2] ?? '').toLowerCase()] ?? Number.NaN);
  if (!(rate >= 0.001)) throw new UsageError(`--host-rate must be requests per second or minute like 5/s or 30/m, got ${JSON.stringify(text)}`);
  return rate;
}

function headers(lines: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of lines.map(parseHeader)) {
    const key = Object.keys(result).find((k) => k.toLowerCase() === name.toLowerCase()) ?? name;
    // A repeated header becomes one comma-separated list, as HTTP defines it.
    result[key] = result[key] === undefined ? value : `${result[key]}, ${value}`;
  }
  return result;
}

function credentialFields(o: GetOptions): DownloaderConfigOptions {
  if (o.user === undefined) return {};
  const { username, password } = parseCredentials(o.user, '-u');
  return { basicAuthUsername: username, basicAuthPassword: password };
}

/**
 * Credentials in the proxy URL move to their own fields; --proxy-user wins over them. A proxy
 * typed without a scheme (`proxy:3128`, `ann:pw@proxy:3128`) is http://, as curl reads it.
 */
function proxyFields(o: GetOptions): DownloaderConfigOptions {
  const given = [o.proxy, o.socks5, o['socks5-hostname']].filter((p) => p !== undefined);
  if (given.length > 1) throw new UsageError('give one of -x/--proxy, --socks5 and --socks5-hostname');
  if (given.length === 0) {
    if (o['proxy-user'] !== undefined) throw new UsageError('--proxy-user needs --proxy');
    return {};
  }
  const typed = o.proxy ?? (o.socks5 === undefined ? `socks5h://${o['socks5-hostname']}` : `socks5://${o.socks5}`);
  const proxy = withScheme(typed);
  if (!URL.canParse(proxy)) throw new UsageError(`--proxy must be a URL like http://host:3128 or socks5://host:1080, got ${JSON.stringify(typed)}`);
  const url = new URL(proxy);
  const fromUrl = url.username === '' ? undefined : { username: decoded(url.username), password: decoded(url.password) };
  const credentials = o['proxy-user'] === undefined ? fromUrl : parseCredentials(o['proxy-user'], '--proxy-user');
  url.username = '';
  url.password = '';
  return { proxyUrl: url.href.replace(/\/$/, ''), proxyUsername: credentials?.username, proxyPassword: credentials?.password };
}

/** Percent-decoded; a stray `%` (`p%ss`) is taken as typed rather than failing the run. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

function tlsFields(o: GetOptions): DownloaderConfigOptions {
  return {
    sslValidation: o.insecure === true ? false : undefined,
    sslCaCertPath: o.cacert,
    sslClientCertPath: o.cert,
    sslClientKeyPath: o.key,
  };
}

/**
 * sftp: logins and host keys, fields of @nectar/sftp's that other schemes' backends ignore. The
 * agent is used only when asked for (the sftp backend never reads the environment itself); keys
 * nobody named are looked for where ssh looks, by runGet (defaultSshKeys). The passphrase goes
 * in core's sslClientKeyPassphrase, which @nectar/sftp reads and every report masks.
 */
function sshFields(o: GetOptions, env: NodeJS.ProcessEnv = process.env): SshConfigFields & DownloaderConfigOptions {
  const agent = o['ssh-agent'] === true ? env.SSH_AUTH_SOCK : undefined;
  if (o['ssh-agent'] === true && (agent === undefined || agent === '')) {
    throw new UsageError('--ssh-agent needs a running ssh-agent: SSH_AUTH_SOCK is not set (eval "$(ssh-agent)" && ssh-add)');
  }
  return {
    sshPrivateKeyPath: o['ssh-key'],
    sshAgent: agent,
    sshKnownHostsPath: o['known-hosts'],
    sslClientKeyPassphrase: sshPassphrase(o, env),
  };
}

/** --ssh-key-passphrase, else $NECTAR_SSH_PASSPHRASE; an empty variable counts as unset, as NO_COLOR's does. */
export function sshPassphrase(o: GetOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const given = o['ssh-key-passphrase'];
  if (given === '') throw new UsageError(`--ssh-key-passphrase must not be empty (an unencrypted key needs none)`);
  const fromEnv = env[SSH_PASSPHRASE_ENV];
  return given ?? (fromEnv === '' ? undefined : fromEnv);
}

function timeFields(o: GetOptions): DownloaderConfigOptions {
  return {
    connectTimeout: optional(o['connect-timeout'], (v) => parseSeconds(v, '--connect-timeout')),
    requestTimeout: optional(o.timeout, (v) => parseSeconds(v, '--timeout')),
    bodyTimeout: optional(o['idle-timeout'], (v) => parseSeconds(v, '--idle-timeout')),
    retries: optional(o.retry, (v) => parseCount(v, '--retry', 0)),
    retryDelay: optional(o['retry-delay'], (v) => parseSeconds(v, '--retry-delay')),
  };
}

function optional<T>(value: string | undefined, parse: (value: string) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}
