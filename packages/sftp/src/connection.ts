import type { AnyAuthMethod, KeyboardInteractiveCallback, ParsedKey, Prompt, SFTPWrapper } from 'ssh2';
import { setMaxListeners } from 'node:events';
import SftpClient from 'ssh2-sftp-client';
import { connectError } from './errors.js';
import type { HostKeyCheck } from './host-key.js';

/** Everything one SSH login needs; `url` only names the target in errors. */
export interface ConnectOptions {
  readonly url: URL;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string | undefined;
  /** Tried in turn, each a login attempt of its own (the server's MaxAuthTries bounds them, as for ssh). */
  readonly privateKeys: readonly ParsedKey[];
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
    try {
      const sftp = await client.connect(connectConfig(options));
      return new SftpConnection(client, sftp);
    } catch (error) {
      await client.end().catch(() => {});
      throw connectError(failure ?? error, options.url, options.hostKey.rejection);
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
    authHandler: logins(options),
  };
  if (options.hostKey.algorithms !== undefined) config.algorithms = { serverHostKey: options.hostKey.algorithms as never };
  return config;
}

/**
 * The login methods in the order ssh2 tries its own (none, password, public keys, agent,
 * keyboard-interactive), with one public-key attempt per key: ssh2's single `privateKey` would
 * try one key only.
 */
function logins(options: ConnectOptions): AnyAuthMethod[] {
  const username = options.username;
  const methods: AnyAuthMethod[] = [{ type: 'none', username }];
  if (options.password !== undefined) methods.push({ type: 'password', username, password: options.password });
  for (const key of options.privateKeys) methods.push({ type: 'publickey', username, key });
  if (options.agent !== undefined) methods.push({ type: 'agent', username, agent: options.agent });
  // Servers with PasswordAuthentication off often ask for the same password this way.
  if (options.password !== undefined) methods.push({ type: 'keyboard-interactive', username, prompt: answerWith(options.password) });
  return methods;
}

function answerWith(password: string) {
  return (_name: string, _instructions: string, _lang: string, prompts: Prompt[], finish: KeyboardInteractiveCallback) => {
    finish(prompts.map(() => password));
  };
}
