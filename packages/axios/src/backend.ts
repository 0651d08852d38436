import type { AxiosInstance } from 'axios';
import { type Backend, NectarArgumentError, NectarError, supportsAll } from '@nectar/core/backend';
import { type Agents, createAgents } from './agents.js';
import { defaultClient } from './request-options.js';
import { transfer } from './transfer.js';

export interface AxiosBackendOptions {
  /**
   * Your own axios instance: its interceptors and defaults (headers, params…) apply to every
   * request. Default: a fresh `axios.create()`, never the global `axios`.
   */
  readonly axios?: AxiosInstance;
}

/**
 * Nectar's HTTP(S) backend on axios, as a plain object for `ComposedDownloader` or a registry.
 * Each hop is one axios GET with `responseType: 'stream'`; redirects, statuses, timeouts and the
 * speed limit are Nectar's, so it behaves as the undici backend does. One backend per
 * downloader: `open()` builds the keep-alive agents from that downloader's TLS and proxy.
 */
export function axiosBackend(options: AxiosBackendOptions = {}): Backend {
  const client = checkedClient(options.axios);
  let agents: Agents | undefined;
  return {
    name: 'axios',
    schemes: ['http', 'https'],
    // HTTP/2 would take a transport of its own (node:http2): axios speaks HTTP/1.1 only.
    supports: { ...supportsAll(true), http2: false },
    open(env) {
      agents = createAgents({ tls: env.tls, proxy: env.proxy, connectTimeout: env.settings.connectTimeout });
    },
    transfer(job) {
      if (agents === undefined) return Promise.reject(new NectarError('NECTAR_BACKEND', 'the axios backend was not opened, or is closed'));
      return transfer({ axios: client, agents }, job);
    },
    async close() {
      agents?.destroy();
      agents = undefined;
    },
  };
}

/** Checked here, not on the first request: a wrong object should fail where it was passed. */
function checkedClient(given: AxiosInstance | undefined): AxiosInstance {
  const client = given ?? defaultClient();
  if (typeof client?.request !== 'function' || typeof client.defaults !== 'object') {
    throw new NectarArgumentError('options.axios must be an axios instance (axios.create())');
  }
  return client;
}
