import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, type ClientRequest } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { connect, isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { type ConnectionOptions, type PeerCertificate, checkServerIdentity, connect as tlsConnect } from 'node:tls';
import type { ProxySettings, TlsMaterial } from '@nectar/core/backend';
import { isSocksProxy, proxyTlsOptions, socksTunnelOptions, targetTlsOptions } from '@nectar/core/http';
import { Agent, type AgentConnectOpts } from 'agent-base';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { SocksClient } from 'socks';

/** The node:http agents of one downloader: one for http targets, one for https targets. */
export interface Agents {
  readonly http: HttpAgent;
  readonly https: HttpAgent;
  /** Closes every socket, in use or kept alive. */
  destroy(): void;
}

export interface AgentSettings {
  readonly tls: TlsMaterial;
  readonly proxy: ProxySettings | null;
  /** config.connectTimeout: bounds a SOCKS handshake (node:http's requests are timed by RequestWatch). */
  readonly connectTimeout: number;
}

/**
 * Keep-alive agents carrying the config's TLS material. With a proxy, http targets go as
 * absolute-form requests to it (as curl sends them: many proxies allow CONNECT to 443 only) and
 * https targets through a CONNECT tunnel; an https proxy is itself reached over TLS.
 */
export function createAgents(settings: AgentSettings): Agents {
  const { proxy } = settings;
  // A connection to the proxy still waiting for its CONNECT answer belongs to no agent's pool
  // yet, so destroy() would miss it; this signal reaches it.
  const closing = new AbortController();
  // Every pooled connection listens on it for its life: no MaxListenersExceededWarning at the 11th.
  setMaxListeners(0, closing.signal);
  const agents =
    proxy === null
      ? { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true, ...targetTlsOptions(settings.tls) }) }
      : isSocksProxy(proxy.url)
        ? socksAgents(proxy, settings.tls, { timeout: settings.connectTimeout, closing: closing.signal })
        : {
            http: forwardingAgent(proxy, proxyOptions(proxy, settings.tls, closing.signal)),
            https: new TunnelAgent(proxy.url, proxyOptions(proxy, settings.tls, closing.signal), targetTlsOptions(settings.tls)),
          };
  return {
    ...agents,
    destroy() {
      closing.abort();
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/**
 * The connection to the proxy: keep-alive, its credentials as Proxy-Authorization (core took
 * them out of the URL), and, for an https proxy, the same trust as the target but never the
 * client certificate, which identifies us to the target only.
 */
function proxyOptions(proxy: ProxySettings, tls: TlsMaterial, signal: AbortSignal) {
  return {
    keepAlive: true,
    signal,
    ...proxyTlsOptions(tls),
    headers: proxy.authorization === undefined ? {} : { 'Proxy-Authorization': proxy.authorization },
  };
}

/**
 * http-proxy-agent opens the TLS connection to an https proxy without a servername, so a proxy
 * named by host would get no SNI and might present another site's certificate; an IP gets none,
 * as Node requires. (https-proxy-agent sets it itself.)
 */
function forwardingAgent(proxy: ProxySettings, options: ProxyOptions): HttpAgent {
  // An IPv6 hostname keeps its brackets in a URL.
  const host = proxy.url.hostname.replace(/^\[|\]$/g, '');
  const sni = proxy.url.protocol === 'https:' && isIP(host) === 0 ? { servername: host } : {};
  const agent = new HttpProxyAgent(proxy.url, { ...options, ...sni });
  // node:http checks an agent's protocol; agent-base would guess it from the call stack.
  agent.protocol = 'http:';
  return agent;
}

type ProxyOptions = ReturnType<typeof proxyOptions>;
type ConnectOptions = Parameters<HttpsProxyAgent<string>['connect']>[1];

/**
 * https-proxy-agent builds the TLS connection to the target from the request's options, which
 * axios fills without any TLS field; this adds the config's CA and client certificate, and the
 * target's identity.
 */
class TunnelAgent extends HttpsProxyAgent<string> {
  readonly #targetTls: ConnectionOptions;

  constructor(proxy: URL, options: ProxyOptions, tls: ConnectionOptions) {
    super(proxy, options);
    this.#targetTls = tls;
    this.protocol = 'https:';
  }

  override connect(req: ClientRequest, options: ConnectOptions) {
    return super.connect(req, { ...options, ...this.#targetTls, ...targetIdentity(options.host) } as ConnectOptions);
  }
}

/**
 * What the target's certificate is checked against: the host of its URL. https-proxy-agent
 * leaves `host` out of the tunnel's tls.connect(), and for an IP node:http sets no servername
 * (no SNI for IPs), so node:tls would check the certificate against its fallback "localhost":
 * a localhost certificate passed for https://127.0.0.1 and the right one failed. A name is also
 * sent as SNI, from the URL rather than a Host header a caller may have set.
 */
function targetIdentity(host: string | null | undefined): ConnectionOptions {
  if (!host) return {};
  return {
    servername: isIP(host) === 0 ? host : '',
    checkServerIdentity: (_checked: string, cert: PeerCertificate) => checkServerIdentity(host, cert),
  };
}

/** What the SOCKS agents need beside the proxy: the handshake's bound and the agents' end. */
interface SocksBounds {
  /** config.connectTimeout, over the whole SOCKS handshake. */
  readonly timeout: number;
  /** Aborted by destroy(): it reaches a connection still in its handshake, which no pool holds yet. */
  readonly closing: AbortSignal;
}

/** One SOCKS agent per target protocol: the same tunnel, with TLS to the target on top for https. */
function socksAgents(proxy: ProxySettings, tls: TlsMaterial, bounds: SocksBounds): { http: HttpAgent; https: HttpAgent } {
  const http = new SocksAgent(proxy, {}, bounds);
  http.protocol = 'http:';
  const https = new SocksAgent(proxy, targetTlsOptions(tls), bounds);
  https.protocol = 'https:';
  return { http, https };
}

/**
 * A SOCKS5 tunnel per connection, opened by the `socks` package (as @nectar/undici does) on a
 * socket this agent owns: a proxy that accepts and then says nothing, or stalls on CONNECT,
 * fails within config.connectTimeout, and destroy() ends a handshake in progress.
 * (socks-proxy-agent, used before, gave the handshake socks' own 30 s and no way to stop it, so
 * a silent proxy kept a socket open that long after the download had failed and closed.) The
 * login stays in a private field, out of any log of the agent; for https targets the config's
 * TLS material and the target's identity go on top, as for an http proxy's tunnel.
 */
class SocksAgent extends Agent {
  readonly #proxy: ProxySettings;
  readonly #targetTls: ConnectionOptions;
  readonly #bounds: SocksBounds;

  constructor(proxy: ProxySettings, targetTls: ConnectionOptions, bounds: SocksBounds) {
    super({ keepAlive: true });
    this.#proxy = proxy;
    this.#targetTls = targetTls;
    this.#bounds = bounds;
  }

  override async connect(_req: ClientRequest, options: AgentConnectOpts): Promise<Duplex> {
    const hostname = options.host ?? 'localhost';
    const port = Number(options.port) || (options.secureEndpoint ? 443 : 80);
    const tunnel = await socksTunnelOptions(this.#proxy, { hostname, port }, this.#bounds.timeout);
    const socket = connect({ host: tunnel.proxy.host, port: tunnel.proxy.port, signal: this.#bounds.closing });
    const { socket: opened } = await SocksClient.createConnection({ ...tunnel, existing_socket: socket });
    if (!options.secureEndpoint) return opened;
    return tlsConnect({ ...this.#targetTls, ...targetIdentity(hostname), socket: opened });
  }
}
