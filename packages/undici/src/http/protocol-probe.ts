import type { Socket } from 'node:net';
import type { Client as ClientType, Dispatcher, Pool as PoolType, buildConnector } from 'undici';
import Client from 'undici/lib/dispatcher/client.js';
import Pool from 'undici/lib/dispatcher/pool.js';

/** Streams at once on one h2 connection: undici's default maxConcurrentStreams. */
const H2_STREAMS = 100;

/**
 * With `http2`, the first connection to an https origin decides, by ALPN, whether the origin
 * speaks h2, and undici 7 cannot act on the answer by itself: a client runs one request at a time
 * unless told its `pipelining`, h2 or not, and a pool opens a connection for every request that
 * finds the others busy or still connecting — eight requests at once meant eight h2 connections
 * of one stream each. So requests to an origin whose protocol is not known yet wait for its first
 * connection, and a connection that negotiated h2 is given 100 streams (a setting that for
 * HTTP/1.1 would mean pipelining, which is never turned on): an h2 origin gets every request
 * multiplexed on one connection, an HTTP/1.1 one as many connections as it needs.
 */
export class ProtocolProbe {
  /** Per origin: settled once its first connection is up (or failed). */
  readonly #first = new Map<string, Promise<void>>();
  readonly #settle = new Map<string, () => void>();
  readonly #h2 = new Set<string>();
  /** Connections up per origin: with none, the next connection decides again (after a GOAWAY, say). */
  readonly #live = new Map<string, number>();

  /** Wraps a connector to learn each connection's protocol and settle its origin's wait. */
  connector(connect: buildConnector.connector): buildConnector.connector {
    return (options, callback) => {
      connect(options, (error, socket) => {
        const origin = originOf(options);
        if (socket !== null) this.#opened(origin, socket as unknown as Socket);
        (callback as (error: Error | null, socket: unknown) => void)(error, socket);
        // After the callback: undici has taken the socket in and the client is ready for streams.
        this.#settled(origin);
      });
    };
  }

  /** The Agent's factory: pools whose clients learn, once connected, whether they carry h2. */
  readonly factory = (origin: string | URL, options: object): Dispatcher =>
    new Pool(origin, { ...(options as PoolType.Options), factory: (url: string | URL, clientOptions: object) => this.#client(url, clientOptions) });

  #client(url: string | URL, options: object): ClientType {
    const client = new Client(url, options as ClientType.Options);
    const origin = new URL(String(url)).origin;
    client.on('connect', () => {
      if (this.#h2.has(origin)) client.pipelining = H2_STREAMS;
    });
    return client;
  }

  /** The interceptor that holds requests while their origin's first connection is made. */
  readonly interceptor: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (options, handler) => {
    const origin = String(options.origin ?? '');
    if (!origin.startsWith('https:')) return dispatch(options, handler);
    const key = new URL(origin).origin;
    const first = this.#first.get(key);
    if (first !== undefined) {
      void first.then(() => dispatch(options, handler));
      return true;
    }
    // This request opens the origin's first connection; the next ones wait for it.
    if ((this.#live.get(key) ?? 0) === 0) this.#first.set(key, new Promise((resolve) => this.#settle.set(key, resolve)));
    return dispatch(options, handler);
  };

  #opened(origin: string, socket: Socket): void {
    if ((socket as { alpnProtocol?: unknown }).alpnProtocol === 'h2') this.#h2.add(origin);
    else this.#h2.delete(origin);
    this.#live.set(origin, (this.#live.get(origin) ?? 0) + 1);
    socket.once('close', () => {
      const left = (this.#live.get(origin) ?? 1) - 1;
      if (left > 0) this.#live.set(origin, left);
      else this.#live.delete(origin);
    });
  }

  #settled(origin: string): void {
    this.#first.delete(origin);
    this.#settle.get(origin)?.();
    this.#settle.delete(origin);
  }
}

function originOf(options: buildConnector.Options): string {
  const port = options.port === '' || options.port === undefined ? '' : `:${options.port}`;
  return new URL(`${options.protocol}//${options.hostname}${port}`).origin;
}
