import type { KeyboardInteractiveCallback, Prompt, SFTPWrapper } from 'ssh2';
import { setMaxListeners } from 'node:events';
import SftpClient from 'ssh2-sftp-client';
import { NectarError, redactUrl } from '@nectar/core';
import { connectError } from './errors.js';
import type { HostKeyCheck } from './host-key.js';

/** Everything one SSH login needs; `url` only names the target in errors. */
export interface ConnectOptions {
  readonly url: URL;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string | undefined;
  readonly privateKey: Buffer | string | undefined;
  readonly passphrase: string | undefined;
  readonly agent: string | undefined;
  /** ssh2's readyTimeout: TCP connect, handshake and login together; 0 for none. */
  readonly readyTimeout: number;
  readonly hostKey: HostKeyCheck;
}

// ssh2-sftp-client logs to the console from its default global listeners; the connection
// watches the ssh2 client itself instead.
const quiet: SftpClient.Callbacks = { error: () => {}, end: () => {}, close: () => {} };

/**
 * One logged-in SSH connection and its SFTP channel. ssh2-sftp-client sets it up and tears it
 * down; transfers use the SFTPWrapper it wraps directly, because the channel multiplexes
 * requests by id while the client's own methods juggle shared listeners and must not overlap.
 */
export class SftpConnection {
  readonly sftp: SFTPWrapper;
  readonly #client: SftpClient;
  readonly #lost = new AbortController();

  private constructor(client: SftpClient, sftp: SFTPWrapper) {
    this.#client = client;
    this.sftp = sftp;
    // Every transfer on this connection listens: many more than Node's default of 10.
    setMaxListeners(0, this.#lost.signal);
    const lose = () => this.#lose();
    client.on('close', lose);
    client.on('end', lose);
    client.on('error', lose);
  }

  static async open(options: ConnectOptions): Promise<SftpConnection> {
    const client = new SftpClient('nectar', quiet);
    let failure: unknown;
    // The client rejects with a copy that drops ssh2's `level`; keep the original to classify.
    const remember = (error: unknown) => {
      failure ??= error;
    };
    client.on('error', remember);
    if (options.password !== undefined) client.on('keyboard-interactive', answerWith(options.password));
    try {
      const sftp = await client.connect(connectConfig(options));
      return new SftpConnection(client, sftp);
    } catch (error) {
      await client.end().catch(() => {});
      throw failure === undefined && options.privateKey !== undefined && !hasCode(error)
        ? keyError(options.url, error)
        : connectError(failure ?? error, options.url, options.hostKey.rejection);
    } finally {
      client.removeListener('error', remember);
    }
  }

  /** True once the session closed or failed: the pool stops handing it out. */
  get lost(): boolean {
    return this.#lost.signal.aborted;
  }

  /**
   * Aborted when the session closes or fails. Transfers must watch it: ssh2 silently drops a
   * request sent on a closed channel, and its callback never runs.
   */
  get lostSignal(): AbortSignal {
    return this.#lost.signal;
  }

  async end(): Promise<void> {
    this.#lose();
    await this.#client.end().catch(() => {});
  }

  #lose(): void {
    if (!this.lost) this.#lost.abort(new Error('the SSH connection was lost'));
  }
}

function connectConfig(options: ConnectOptions): SftpClient.ConnectOptions {
  const config: SftpClient.ConnectOptions = {
    host: options.host,
    port: options.port,
    username: options.username,
    readyTimeout: options.readyTimeout,
    hostVerifier: (key: Buffer) => options.hostKey.verify(key),
  };
  if (options.hostKey.algorithms !== undefined) config.algorithms = { serverHostKey: options.hostKey.algorithms as never };
  if (options.password !== undefined) {
    config.password = options.password;
    // Servers with PasswordAuthentication off often ask for the same password this way.
    config.tryKeyboard = true;
  }
  if (options.privateKey !== undefined) config.privateKey = options.privateKey;
  if (options.passphrase !== undefined) config.passphrase = options.passphrase;
  if (options.agent !== undefined) config.agent = options.agent;
  return config;
}

function answerWith(password: string) {
  return (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) => {
    finish(prompts.map(() => password));
  };
}

function hasCode(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error;
}

/** ssh2 throws before connecting when the key cannot be parsed or decrypted. */
function keyError(url: URL, error: unknown): NectarError {
  const message = error instanceof Error ? error.message : String(error);
  return new NectarError(
    'NECTAR_INVALID_CONFIG',
    `${redactUrl(url)}: the private key cannot be used (${message}); check config.sshPrivateKey or config.sshPrivateKeyPath, and config.sslClientKeyPassphrase for an encrypted key`,
    { cause: error, details: { field: 'sshPrivateKey' } },
  );
}
