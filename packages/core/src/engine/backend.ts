import type { Supports } from '../capabilities.js';
import type { ResolvedConfig } from '../config.js';
import type { TransferJob } from './job.js';
import type { ConcurrencyLimit } from '../limits/concurrency.js';

import type { SpeedLimiter } from '../limits/speed.js';
import type { ProxySettings } from '../http/proxy.js';
import type { TlsMaterial } from '../tls/material.js';

/** What every request of a downloader shares: one concurrency bound, one speed budget. */
export interface SharedLimits {
  readonly concurrency: ConcurrencyLimit;
  readonly speed: SpeedLimiter | null;
}

/**
 * What a backend is opened with, once per downloader: the settings, the TLS material (PEM files
 * already read), the proxy and the shared limits. A backend builds its pools and agents here,
 * not from the first job.
 */
export interface BackendEnv {
  readonly settings: ResolvedConfig;
  readonly tls: TlsMaterial;
  readonly proxy: ProxySettings | null;
  readonly limits: SharedLimits;
}

/**
 * A backend as a plain object the engine composes (as unstorage composes its drivers): the URL
 * schemes it serves, what it supports, and how it moves the bytes of one attempt. `Downloader`
 * calls `open(env)` once before the first transfer and `close()` from `downloader.close()`.
 * A router (a registry) also answers `route(url)` with the backend that serves one URL.
 * One object serves one downloader: `open(env)` binds it to that downloader's settings and
 * limits, so a factory makes a fresh one for each.
 */
export interface Backend {
  /** Shown in errors: 'undici', 'file', 'MyS3Downloader'. */
  readonly name: string;
  /** URL schemes served, without colon: ['http', 'https']. */
  readonly schemes: readonly string[];
  readonly supports: Supports;
  open?(env: BackendEnv): void | Promise<void>;
  /** Moves the bytes of one attempt at one request into `job.sink` (or `job.tempPath`). */
  transfer(job: TransferJob): Promise<void>;
  /** Releases pools, sockets and workers; no handle may stay open. */
  close?(): Promise<void>;
  /** For a router: the backend that serves `url` (opened with the same env before use). */
  route?(url: URL): Backend | Promise<Backend>;
}

/** A backend whose transfer goes through `transfer`; every other member reads the original, live. */
export function withTransfer(backend: Backend, transfer: (job: TransferJob) => Promise<void>): Backend {
  const view: Backend = {
    get name() {
      return backend.name;
    },
    get schemes() {
      return backend.schemes;
    },
    get supports() {
      return backend.supports;
    },
    transfer,
    close: async () => backend.close?.(),
  };
  if (backend.open !== undefined) view.open = (env) => backend.open?.(env);
  if (backend.route !== undefined) view.route = (url) => (backend.route as NonNullable<Backend['route']>)(url);
  return view;
}
