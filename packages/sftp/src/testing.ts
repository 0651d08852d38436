/**
 * Test helpers for @nectar/sftp and for anyone testing an sftp:// downloader: a real OpenSSH
 * server on 127.0.0.1 with its own throwaway config, keys and served folder.
 *
 *   import { sftpFixture, sshdSkipReason } from '@nectar/sftp/testing';
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { type ConformanceFixture, releasedPort } from '@nectar/conformance/fixtures';
import { type KeyPair, generateKeyPair } from './fixture/keys.js';
import { findProgram } from './fixture/programs.js';
import { SshdProcess } from './fixture/sshd.js';
import { sshdConfig } from './fixture/sshd-config.js';
import { type PasswordUser, createPasswordUser, passwordLoginUnavailable, removePasswordUser } from './fixture/system-user.js';
import { establishedConnections } from './fixture/tcp.js';

export type { PasswordUser } from './fixture/system-user.js';

export interface SftpFixtureOptions {
  /**
   * Also let a throwaway local user log in with a password (`passwordUser`). sshd checks
   * passwords against the system's users, so this creates one (useradd, chpasswd: needs root)
   * with a random password and no home, and deletes it in stop(). Default false.
   */
  passwordLogin?: boolean;
  /** The sshd binary (default: $NECTAR_SSHD, else sshd in PATH or the sbin folders). */
  sshdPath?: string;
}

/** Config fields that make SftpDownloader trust the fixture's server and log in to it. */
// A type, not an interface: it must fit DownloaderConfigInput's index signature.
export type SftpFixtureConfig = {
  readonly sshKnownHostsPath: string;
  readonly sshPrivateKeyPath: string;
};

export interface SftpFixture extends ConformanceFixture {
  readonly name: 'sftp';
  readonly host: '127.0.0.1';
  /** Available after start(), like everything below. */
  readonly port: number;
  /** The folder published files are written to; their URLs carry its absolute path. */
  readonly root: string;
  /** The local user the fixture's key logs in as (the user running the tests). */
  readonly username: string;
  readonly clientKeyPath: string;
  /** The unencrypted client key, in OpenSSH format. */
  readonly clientKey: string;
  /** A second authorised key, encrypted with `clientKeyPassphrase`. */
  readonly encryptedClientKeyPath: string;
  readonly clientKeyPassphrase: string;
  /** The server's host key as `SHA256:…`, for config.sshHostKeyFingerprint. */
  readonly hostKeyFingerprint: string;
  /** A known_hosts file holding the server's key under `[127.0.0.1]:port`. */
  readonly knownHostsPath: string;
  /** sshKnownHostsPath and sshPrivateKeyPath for this server; known before start(), valid after. */
  readonly config: SftpFixtureConfig;
  /** The password login, or null (see `passwordLoginUnavailable` for why). */
  readonly passwordUser: PasswordUser | null;
  readonly passwordLoginUnavailable: string | null;
  /** Successful SSH logins since start(): how many connections were opened. */
  readonly logins: number;
  /** The sftp:// URL of `name` under the root, published or not; `user` defaults to `username`. */
  url(name: string, user?: string): string;
  /** TCP connections open to the server right now, from its side (Linux). */
  connections(): Promise<number>;
  /** Kills every SSH session process: connections drop as if the network broke (Linux). */
  dropConnections(): Promise<number>;
}

/** The sshd binary to run, or null when OpenSSH's server is not installed. */
export function findSshd(path = process.env.NECTAR_SSHD): string | null {
  if (path !== undefined && path !== '') return existsSync(path) ? path : null;
  return findProgram('sshd');
}

/**
 * Whether a test server that is not installed fails the tests instead of skipping them:
 * NECTAR_REQUIRE_SERVERS=1, or CI=true unless NECTAR_REQUIRE_SERVERS=0.
 */
export function serversRequired(): boolean {
  const required = process.env.NECTAR_REQUIRE_SERVERS;
  if (required === '1' || required === 'true') return true;
  if (required === '0' || required === 'false') return false;
  return process.env.CI === 'true';
}

/**
 * Why SFTP tests cannot run here (sshd or ssh-keygen missing, with the command that installs
 * it), or null when they can. Where servers are required (CI=true or NECTAR_REQUIRE_SERVERS=1,
 * see `serversRequired`) a missing server is an error, not a skip: the tests must run there.
 */
export function sshdSkipReason(): string | null {
  const setting = process.env.NECTAR_SSHD;
  let reason: string | null = null;
  if (findSshd() === null) {
    reason =
      setting !== undefined && setting !== ''
        ? `NECTAR_SSHD=${setting} does not exist (unset it to use the installed sshd, or install one: apt-get install openssh-server)`
        : 'sshd (OpenSSH server) is not installed (install it: apt-get install openssh-server, or set NECTAR_SSHD=/path/to/sshd)';
  } else if (findProgram('ssh-keygen') === null) {
    reason = 'ssh-keygen is not installed (install it: apt-get install openssh-client)';
  }
  if (reason === null) return null;
  if (serversRequired()) throw new Error(`SFTP tests must run here (CI=true or NECTAR_REQUIRE_SERVERS=1), but ${reason}`);
  return reason;
}

/** A real OpenSSH server for sftp:// tests; start() it, publish files, stop() it. */
export function sftpFixture(options: SftpFixtureOptions = {}): SftpFixture {
  return new OpenSshFixture(options);
}

interface Running {
  readonly root: string;
  readonly port: number;
  readonly sshd: SshdProcess;
  readonly clientKey: KeyPair;
  readonly encryptedKey: KeyPair;
  readonly hostKey: KeyPair;
  readonly clientKeyText: string;
  readonly knownHostsPath: string;
  readonly passwordUser: PasswordUser | null;
}

const passphrase = 'nectar fixture passphrase';
const bindAttempts = 3;

class OpenSshFixture implements SftpFixture {
  readonly name = 'sftp';
  readonly host = '127.0.0.1';
  readonly clientKeyPassphrase = passphrase;
  readonly username: string = userInfo().username;
  readonly passwordLoginUnavailable: string | null;
  readonly #options: SftpFixtureOptions;
  /** Chosen now, created by start(): the config can name the key and known_hosts files early. */
  readonly #folder = join(tmpdir(), `nectar-sftp-fixture-${randomUUID()}`);
  #running: Running | undefined;
  #unreachablePort: number | undefined;

  constructor(options: SftpFixtureOptions) {
    this.#options = options;
    this.passwordLoginUnavailable = options.passwordLogin === true ? passwordLoginUnavailable() : 'not asked for (sftpFixture({ passwordLogin: true }))';
  }

  get #state(): Running {
    if (this.#running === undefined) throw new Error('sftpFixture: call start() first');
    return this.#running;
  }

  get port(): number {
    return this.#state.port;
  }
  get root(): string {
    return this.#state.root;
  }
  get clientKeyPath(): string {
    return join(this.#folder, 'etc', 'client_ed25519');
  }
  get clientKey(): string {
    return this.#state.clientKeyText;
  }
  get encryptedClientKeyPath(): string {
    return this.#state.encryptedKey.privatePath;
  }
  get hostKeyFingerprint(): string {
    return this.#state.hostKey.fingerprint;
  }
  get knownHostsPath(): string {
    return join(this.#folder, 'etc', 'known_hosts');
  }
  get config(): SftpFixtureConfig {
    return { sshKnownHostsPath: this.knownHostsPath, sshPrivateKeyPath: this.clientKeyPath };
  }
  get passwordUser(): PasswordUser | null {
    return this.#running?.passwordUser ?? null;
  }
  get logins(): number {
    return this.#state.sshd.logins;
  }

  async start(): Promise<void> {
    if (this.#running !== undefined) throw new Error('sftpFixture: already started');
    const sshdPath = this.#options.sshdPath ?? findSshd();
    if (sshdPath === null) throw new Error(`sftpFixture: ${sshdSkipReason() ?? 'sshd is not installed'}`);
    // Not recursive: the folder must be new, so that nobody else can have planted files in it.
    await mkdir(this.#folder, { mode: 0o700 });
    try {
      this.#running = await this.#setUp(this.#folder, sshdPath);
    } catch (error) {
      await rm(this.#folder, { recursive: true, force: true });
      throw error;
    }
    this.#unreachablePort = await releasedPort();
  }

  async stop(): Promise<void> {
    const running = this.#running;
    this.#running = undefined;
    if (running === undefined) return;
    await running.sshd.stop();
    if (running.passwordUser !== null) await removePasswordUser(running.passwordUser.username);
    await rm(this.#folder, { recursive: true, force: true });
  }

  async publish(name: string, body: Uint8Array): Promise<string> {
    const path = this.#path(name);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, body, { mode: 0o644 });
    return this.url(name);
  }

  missingUrl(name = 'missing.bin'): string {
    return this.url(name);
  }

  /** A released port on 127.0.0.1: the connection is refused at once. */
  unreachableUrl(): string {
    if (this.#unreachablePort === undefined) throw new Error('sftpFixture: call start() first');
    return `sftp://${encodeURIComponent(this.username)}@127.0.0.1:${this.#unreachablePort}/nothing-listens-here`;
  }

  url(name: string, user = this.username): string {
    const path = this.#path(name).split('/').map(encodeURIComponent).join('/');
    return `sftp://${encodeURIComponent(user)}@127.0.0.1:${this.port}${path}`;
  }

  connections(): Promise<number> {
    return establishedConnections(this.port);
  }

  dropConnections(): Promise<number> {
    return this.#state.sshd.killSessions();
  }

  #path(name: string): string {
    const segments = name.split('/');
    if (segments.some((s) => s === '' || s === '.' || s === '..') || name.includes('\0')) {
      throw new TypeError(`sftpFixture.publish: ${JSON.stringify(name)} must be a relative path of plain segments, e.g. 'a.bin' or 'dir/a.bin'`);
    }
    return join(this.root, ...segments);
  }

  async #setUp(folder: string, sshdPath: string): Promise<Running> {
    // Traversable by the password user; the keys stay in a private sub-folder.
    await chmod(folder, 0o755);
    const etc = join(folder, 'etc');
    const root = join(folder, 'files');
    await mkdir(etc, { mode: 0o700 });
    await mkdir(root, { mode: 0o755 });
    const [hostKey, clientKey, encryptedKey] = await Promise.all([
      generateKeyPair(join(etc, 'ssh_host_ed25519_key'), '', 'nectar-sftp-fixture-host'),
      generateKeyPair(this.clientKeyPath),
      generateKeyPair(join(etc, 'client_ed25519_encrypted'), passphrase),
    ]);
    const authorizedKeysPath = join(etc, 'authorized_keys');
    await writeFile(authorizedKeysPath, `${clientKey.publicLine}\n${encryptedKey.publicLine}\n`, { mode: 0o600 });
    await ensurePrivilegeSeparationFolder();
    for (let attempt = 1; ; attempt++) {
      const port = await releasedPort();
      const passwordUser = this.passwordLoginUnavailable === null ? await createPasswordUser(`nectar-sftp-${port}`) : null;
      const configPath = join(etc, 'sshd_config');
      const users = passwordUser === null ? [this.username] : [this.username, passwordUser.username];
      const config = { port, hostKeyPath: hostKey.privatePath, authorizedKeysPath, pidPath: join(etc, 'sshd.pid'), users, passwordLogin: passwordUser !== null };
      await writeFile(configPath, sshdConfig(config), { mode: 0o600 });
      try {
        const sshd = await SshdProcess.start(sshdPath, configPath);
        const { knownHostsPath } = this;
        await writeFile(knownHostsPath, `[127.0.0.1]:${port} ${hostKey.publicLine}\n`);
        const clientKeyText = await readFile(clientKey.privatePath, 'utf8');
        return { root, port, sshd, clientKey, encryptedKey, hostKey, clientKeyText, knownHostsPath, passwordUser };
      } catch (error) {
        if (passwordUser !== null) await removePasswordUser(passwordUser.username);
        // Another process may take the port between releasedPort() and sshd's bind.
        if (attempt >= bindAttempts || !/Address already in use/.test(String(error))) throw error;
      }
    }
  }
}

/** sshd started as root insists on this empty folder (it chroots its pre-auth child there). */
async function ensurePrivilegeSeparationFolder(): Promise<void> {
  if (process.getuid?.() !== 0 || process.platform !== 'linux') return;
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
}
