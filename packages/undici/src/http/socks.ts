import { type Socket, connect, isIP } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { ProxySettings } from '@nectar/core/backend';
import { socksTunnelOptions } from '@nectar/core/http';
import type { buildConnector } from 'undici';

/** What a SOCKS connection of one downloader is built from. */
export interface SocksOptions {
  readonly proxy: ProxySettings;
  /** core's TLS options for https targets (CA, client certificate, validation). */
  readonly tls: ConnectionOptions;
  /** config.connectTimeout: the SOCKS handshake and the TLS one each get this long. */
  readonly timeout: number;
  /** Offer h2 by ALPN on https targets (config.http2). */
  readonly http2: boolean;
  /**
   * Aborted when the downloader closes: it ends a handshake in progress, which no pool holds yet
   * (undici's close() would otherwise wait for it, up to connectTimeout).
   */
  readonly closing: AbortSignal;
}

/**
 * undici's `connect` for a SOCKS5 proxy: each new connection of an origin's pool is a tunnel
 * opened by the `socks` package (RFC 1928 with the RFC 1929 login), with TLS to the target on top
 * for https. Used instead of undici's own Socks5ProxyAgent, which in undici 7 is experimental
 * (a process warning at first use), keeps fixed 5 s timers, and drops the pool's timeouts.
 */
export function socksConnector(options: SocksOptions): buildConnector.connector {
  return (target, callback) => {
    open(options, target).then(
      (socket) => callback(null, socket),
      (error: Error) => callback(error, null),
    );
  };
}

async function open(options: SocksOptions, target: buildConnector.Options): Promise<Socket | TLSSocket> {
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  const tunnel = await socksTunnelOptions(options.proxy, { hostname: target.hostname, port }, options.timeout);
  const SocksClient = await socksClient();
  // On a socket of our own, which `closing` destroys: socks' own would live out its timeout.
  const own = connect({ host: tunnel.proxy.host, port: tunnel.proxy.port, signal: options.closing });
  const { socket } = await SocksClient.createConnection({ ...tunnel, existing_socket: own });
  // An IPv6 literal comes with its brackets, as in a URL.
  return target.protocol === 'https:' ? secure(socket, target.hostname.replace(/^\[|\]$/g, ''), options) : socket;
}

/**
 * The `socks` package, loaded on first use: every worker thread builds a dispatcher, and most
 * never see a SOCKS proxy. It is CommonJS: Node's import() names its exports, a bundler's (the
 * CLI's esbuild bundle) may offer only `default`.
 */
async function socksClient(): Promise<typeof import('socks').SocksClient> {
  const loaded: typeof import('socks') & { default?: typeof import('socks') } = await import('socks');
  return loaded.SocksClient ?? (loaded.default as typeof import('socks')).SocksClient;
}

/** TLS to the target through the tunnel, checked against the URL's host (a name is also sent as SNI). */
function secure(socket: Socket, hostname: string, { tls, timeout, http2 }: SocksOptions): Promise<TLSSocket> {
  const secured = tlsConnect({
    ...tls,
    socket,
    host: hostname,
    servername: isIP(hostname) === 0 ? hostname : undefined,
    ALPNProtocols: http2 ? ['h2', 'http/1.1'] : ['http/1.1'],
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`TLS handshake through the SOCKS proxy took longer than ${timeout} ms`)), timeout);
    const fail = (error: Error) => {
      clearTimeout(timer);
      secured.destroy();
      reject(error);
    };
    secured.once('error', fail);
    secured.once('secureConnect', () => {
      clearTimeout(timer);
      secured.off('error', fail);
      resolve(secured);
    });
  });
}
