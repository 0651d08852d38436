import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { ErrorCodeClass, NectarError } from '../errors.js';
import { type FailureContext, transportError } from './failure.js';
import type { ProxySettings } from './proxy.js';

/**
 * Whether a proxy URL names a SOCKS5 proxy: `socks5://` resolves the target's name here (curl's
 * meaning), `socks5h://` lets the proxy resolve it.
 */
export function isSocksProxy(url: URL | string): boolean {
  const protocol = typeof url === 'string' ? url.slice(0, url.indexOf(':') + 1).toLowerCase() : url.protocol;
  return protocol === 'socks5:' || protocol === 'socks5h:';
}

/** Whether the proxy resolves target names (socks5h), so that none is looked up here. */
export function socksResolvesNames(url: URL): boolean {
  return url.protocol === 'socks5h:';
}

/** What the `socks` package's `SocksClient.createConnection()` is given for one tunnel, in its own option names. */
export interface SocksTunnelOptions {
  readonly proxy: { readonly host: string; readonly port: number; readonly type: 5; readonly userId?: string; readonly password?: string };
  readonly command: 'connect';
  readonly destination: { readonly host: string; readonly port: number };
  /** The whole handshake: TCP to the proxy, greeting, login, CONNECT. */
  readonly timeout: number;
}

/**
 * One SOCKS5 CONNECT as every HTTP backend asks for it: the proxy's address and login, the target
 * as the proxy should see it (socks5: an address resolved here, curl's meaning; socks5h: the
 * name) and `timeout` (config.connectTimeout) over the whole handshake, so that a proxy that
 * accepts and then says nothing fails in bounded time.
 */
export async function socksTunnelOptions(proxy: ProxySettings, target: { readonly hostname: string; readonly port: number }, timeout: number): Promise<SocksTunnelOptions> {
  const hostname = unbracketed(target.hostname);
  const host = socksResolvesNames(proxy.url) || isIP(hostname) !== 0 ? hostname : (await lookup(hostname)).address;
  return {
    proxy: { host: unbracketed(proxy.url.hostname), port: Number(proxy.url.port) || 1080, type: 5, userId: proxy.username, password: proxy.password },
    command: 'connect',
    destination: { host, port: target.port },
    timeout,
  };
}

/** An IPv6 literal comes with its brackets, as in a URL. */
function unbracketed(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '');
}

const proxy = (what: string, retryable: boolean): ErrorCodeClass => ({ code: 'NECTAR_PROXY', retryable, what });

/** The `socks` package's failures (its messages are its only codes), in the words a user acts on. */
const socksFailures: ReadonlyArray<readonly [RegExp, ErrorCodeClass]> = [
  [/authentication failed/i, proxy('the SOCKS proxy refused the login; check config.proxyUsername and config.proxyPassword', false)],
  [/no accepted authentication type/i, proxy('the SOCKS proxy accepts none of the login methods offered (does it want a username and password?)', false)],
  [/rejected connection/i, proxy('the SOCKS proxy refused to connect to the target', true)],
  [/timed out/i, { code: 'NECTAR_TIMEOUT', retryable: true, what: 'connecting through the SOCKS proxy took longer than config.connectTimeout', details: { timeout: 'connect' } }],
  [/socket closed|negotiation error|invalid socks/i, proxy('the SOCKS proxy closed the connection or broke the SOCKS5 handshake', true)],
];

/**
 * A failure of the SOCKS handshake as NECTAR_PROXY (or NECTAR_TIMEOUT), for every HTTP backend;
 * undefined for anything else. The `socks` package's error (reached through `cause` when a
 * transport wrapped it) carries the proxy's credentials in its options, so only its message is
 * kept.
 */
export function socksFailure(error: unknown, context: FailureContext): NectarError | undefined {
  const socks = socksError(error);
  if (socks === undefined) return undefined;
  const known = socksFailures.find(([pattern]) => pattern.test(socks.message))?.[1] ?? proxy('the SOCKS proxy failed', true);
  return transportError(new Error(socks.message), context, known);
}

function socksError(error: unknown, depth = 0): Error | undefined {
  if (!(error instanceof Error) || depth > 3) return undefined;
  if (error.constructor.name === 'SocksClientError') return error;
  return socksError(error.cause, depth + 1);
}
