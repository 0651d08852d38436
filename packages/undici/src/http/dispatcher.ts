import type { ConnectionOptions } from 'node:tls';
import type { ProxySettings, ResolvedConfig, TlsMaterial } from '@nectar/core/backend';
import { isSocksProxy, proxyTlsOptions, targetTlsOptions } from '@nectar/core/http';
import type { Dispatcher, ProxyAgent as ProxyAgentType, Pool as PoolType } from 'undici';
import api from 'undici/lib/api/index.js';
import buildConnector from 'undici/lib/core/connect.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import DispatcherClass from 'undici/lib/dispatcher/dispatcher.js';
import EnvHttpProxyAgent from 'undici/lib/dispatcher/env-http-proxy-agent.js';
import Pool from 'undici/lib/dispatcher/pool.js';
import ProxyAgent from 'undici/lib/dispatcher/proxy-agent.js';
import { environmentNamesProxy } from './proxy-environment.js';
import { ProtocolProbe } from './protocol-probe.js';
import { socksConnector } from './socks.js';

// undici's index gives every dispatcher its request()/connect() API, and ProxyAgent tunnels
// through connect(): loaded here from their modules, they get it the same way.
Object.assign(DispatcherClass.prototype, api);

/** What one downloader's connection pool is built from; the same for all its requests. */
export interface DispatcherSettings {
  readonly config: ResolvedConfig;
  readonly tls: TlsMaterial;
  readonly proxy: ProxySettings | null;
  /** Aborted when the downloader closes: connections still being opened end at once. */
  readonly closing: AbortSignal;
}

/**
 * The undici dispatcher of one downloader: an Agent keeps a keep-alive pool per origin, a
 * ProxyAgent sends everything through the configured http(s) proxy, an Agent whose connections
 * are SOCKS tunnels through a SOCKS5 one, and, when the config names no proxy but
 * HTTP_PROXY/HTTPS_PROXY do, an EnvHttpProxyAgent applies them with NO_PROXY.
 */
export function createDispatcher(settings: DispatcherSettings): Dispatcher {
  const { config, proxy } = settings;
  if (proxy !== null && isSocksProxy(proxy.url)) {
    const tls = targetTlsOptions(settings.tls);
    return directAgent(config, socksConnector({ proxy, tls, timeout: config.connectTimeout, http2: config.http2, closing: settings.closing }));
  }
  if (proxy !== null) return new ProxyAgent({ ...proxyOptions(settings), uri: proxy.url.href, token: proxy.authorization });
  if (environmentNamesProxy()) return new EnvHttpProxyAgent(proxyOptions(settings));
  if (!config.http2) return new Agent({ ...poolOptions(config), connect: targetTls(settings) });
  return directAgent(config, buildConnector({ ...targetTls(settings), allowH2: true }));
}

/** An Agent on our own connector; with http2, requests wait for their origin's protocol (ProtocolProbe). */
function directAgent(config: ResolvedConfig, connect: buildConnector.connector): Dispatcher {
  if (!config.http2) return new Agent({ ...poolOptions(config), connect });
  const probe = new ProtocolProbe();
  return new Agent({ ...poolOptions(config), connect: probe.connector(connect), factory: probe.factory }).compose(probe.interceptor);
}

/**
 * Timeouts live on each per-origin pool: undici's own header and idle-body timers. `allowH2`
 * offers h2 by ALPN on TLS connections (config.http2); the server picks, and h1 stays the
 * fallback.
 */
function poolOptions(config: ResolvedConfig): PoolType.Options {
  return { headersTimeout: config.headersTimeout, bodyTimeout: config.bodyTimeout, connectTimeout: config.connectTimeout, allowH2: config.http2 };
}

/** core's TLS options, with the connect timeout undici takes beside them. */
function targetTls({ config, tls }: DispatcherSettings): ConnectionOptions & { timeout: number } {
  return { ...targetTlsOptions(tls), timeout: config.connectTimeout };
}

function proxyTls({ config, tls }: DispatcherSettings): ConnectionOptions & { timeout: number } {
  return { ...proxyTlsOptions(tls), timeout: config.connectTimeout };
}

function proxyOptions(settings: DispatcherSettings): Omit<ProxyAgentType.Options, 'uri'> {
  const pool = poolOptions(settings.config);
  return {
    ...pool,
    connect: targetTls(settings),
    requestTls: targetTls(settings),
    proxyTls: proxyTls(settings),
    // Plain http through an http proxy goes as absolute-form requests, as curl and browsers send
    // it: many proxies only allow CONNECT to port 443. https (and any https proxy) tunnels.
    proxyTunnel: false,
    // undici builds the forwarding pool of an http proxy from `connect` alone; this factory puts
    // our timeouts on it too (and on every tunnelled pool, which gets them anyway).
    factory: (origin: string | URL, options: object) => new Pool(origin, { ...pool, ...options }),
  };
}
