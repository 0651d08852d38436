import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Capability, type Supports, capabilities, supportsAll } from '../capabilities.js';
import type { DownloaderConfig } from '../config.js';
import type { Backend } from './backend.js';
import { ComposedDownloader, Downloader } from './downloader.js';
import { NectarArgumentError, NectarError } from '../errors.js';
import type { DownloadEventListener } from './events.js';
import { describe } from '../request.js';

/**
 * Makes what serves a scheme: a plain `Backend` object (preferred: nothing unused is built), or
 * a `Downloader` whose backend the registry's downloader runs under its own limits.
 */
export type DownloaderFactory = (config: DownloaderConfig, listener?: DownloadEventListener) => Downloader | Backend;

/** What a backend package exports from its main entry so that a registry can load it. */
export interface BackendModule {
  register(registry: DownloaderRegistry): void;
}

export interface RegistryOptions {
  /** scheme → packages that serve it, in order of preference, loaded on first use. */
  known?: Readonly<Record<string, readonly string[]>>;
  /** How a package is loaded (tests and bundlers may replace it). */
  load?: (specifier: string) => Promise<unknown>;
}

/** Our own backends, loaded lazily by the default registry when installed. */
export const knownBackends: Readonly<Record<string, readonly string[]>> = {
  http: ['@nectar/undici', '@nectar/axios'],
  https: ['@nectar/undici', '@nectar/axios'],
  file: ['@nectar/file'],
  sftp: ['@nectar/sftp'],
};

/**
 * Chooses a downloader by URL scheme. Backends register factories (explicitly, or lazily by
 * package name); `create()` returns one Downloader that routes each request to its scheme's
 * backend, all of them under one concurrency bound and one speed limit.
 */
export class DownloaderRegistry {
  readonly #factories = new Map<string, DownloaderFactory>();
  readonly #known: Readonly<Record<string, readonly string[]>>;
  readonly #load: (specifier: string) => Promise<unknown>;
  readonly #loaded = new Map<string, Promise<boolean>>();

  constructor(options: RegistryOptions = {}) {
    this.#known = options.known ?? {};
    this.#load = options.load ?? loadFromApplication;
  }

  register(schemes: string | readonly string[], factory: DownloaderFactory): this {
    if (typeof factory !== 'function') throw new NectarArgumentError(`register() needs a factory function, got ${describe(factory)}`);
    if (typeof schemes !== 'string' && !Array.isArray(schemes)) {
      throw new NectarArgumentError(`register() needs a scheme or an array of schemes, got ${describe(schemes)}`);
    }
    for (const scheme of typeof schemes === 'string' ? [schemes] : schemes) {
      this.#factories.set(normaliseScheme(scheme), factory);
    }
    return this;
  }

  unregister(scheme: string): boolean {
    return this.#factories.delete(normaliseScheme(scheme));
  }

  /** Schemes with a registered factory, and those a known package could serve. */
  get schemes(): string[] {
    return [...new Set([...this.#factories.keys(), ...Object.keys(this.#known)])];
  }

  has(scheme: string): boolean {
    return this.#factories.has(normaliseScheme(scheme));
  }

  /** The factory for a scheme, loading a known package on first use. */
  async resolve(scheme: string): Promise<DownloaderFactory> {
    scheme = normaliseScheme(scheme);
    const packages = this.#known[scheme] ?? [];
    for (const name of packages) {
      if (this.#factories.has(scheme)) break;
      await this.#loadPackage(name);
    }
    const factory = this.#factories.get(scheme);
    if (factory !== undefined) return factory;
    const hint = packages.length > 0 ? `; install ${packages[0]} (npm install ${packages[0]})` : '; register a downloader for it with registry.register()';
    throw new NectarError('NECTAR_UNSUPPORTED_SCHEME', `no downloader serves ${scheme}: URLs${hint}`, {
      details: { scheme, packages: [...packages] },
    });
  }

  /** One downloader for every registered scheme: an engine over a router backend. */
  create(config?: DownloaderConfig, listener?: DownloadEventListener): Downloader {
    const downloader: Downloader = new ComposedDownloader(routerBackend(this, () => downloader), config, listener);
    return downloader;
  }

  #loadPackage(name: string): Promise<boolean> {
    let loading = this.#loaded.get(name);
    if (loading === undefined) {
      // Through a promise: a loader that throws synchronously (import.meta.resolve) is a rejection too.
      loading = Promise.resolve()
        .then(() => this.#load(name))
        .then(
        (module) => {
          const register = (module as Partial<BackendModule>).register;
          if (typeof register !== 'function') throw new NectarError('NECTAR_BACKEND', `${name} has no register(registry) export`);
          register(this);
          return true;
        },
        (error: unknown) => {
          if (isModuleNotFound(error)) return false;
          throw error;
        },
      );
      this.#loaded.set(name, loading);
    }
    return loading;
  }
}

function normaliseScheme(scheme: string): string {
  if (typeof scheme !== 'string' || !/^[a-z][a-z0-9+.-]*:?$/i.test(scheme)) {
    throw new NectarArgumentError(`a scheme must be like 'https' or 's3', got ${describe(scheme)}`);
  }
  return scheme.toLowerCase().replace(/:$/, '');
}

function isModuleNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

/** Imports a package as core sees it, then as the application (the working directory) sees it. */
async function loadFromApplication(specifier: string): Promise<unknown> {
  try {
    return await import(specifier);
  } catch (error) {
    if (!isModuleNotFound(error)) throw error;
    const resolved = createRequire(join(process.cwd(), 'noop.js')).resolve(specifier);
    return import(pathToFileURL(resolved).href);
  }
}

/**
 * The backend of a registry's downloader: for each URL, the backend its scheme's factory makes —
 * once per factory, with the downloader's config and listener; the engine opens it with the
 * downloader's env, so every backend runs under one concurrency bound and one speed limit.
 */
function routerBackend(registry: DownloaderRegistry, owner: () => Downloader): Backend {
  const made = new Map<DownloaderFactory, { backend: Backend; close(): Promise<void> }>();
  return {
    name: 'DownloaderRegistry',
    get schemes() {
      return registry.schemes;
    },
    /** What every backend made so far supports (all true before the first). */
    get supports(): Supports {
      const all = supportsAll(true) as Record<Capability, boolean>;
      for (const c of capabilities) all[c] = [...made.values()].every((m) => m.backend.supports[c]);
      return all;
    },
    async route(url) {
      const factory = await registry.resolve(url.protocol.slice(0, -1));
      let entry = made.get(factory);
      if (entry === undefined) {
        const { config, listener } = owner();
        entry = served(factory(config, listener));
        made.set(factory, entry);
      }
      return entry.backend;
    },
    transfer: (job) => Promise.reject(new NectarError('NECTAR_BACKEND', `the registry routes ${job.url.href}; it has no transfer of its own`)),
    async close() {
      const entries = [...made.values()];
      made.clear();
      await Promise.all(entries.map((e) => e.close()));
    },
  };
}

/** A factory's product as a backend, and how to release it. */
function served(product: Downloader | Backend): { backend: Backend; close(): Promise<void> } {
  if (product instanceof Downloader) return { backend: product.backend, close: () => product.close() };
  if (typeof product !== 'object' || product === null || typeof product.transfer !== 'function') {
    throw new NectarError('NECTAR_BACKEND', `a registered factory returned ${describe(product)}, not a Downloader or a backend`);
  }
  return { backend: product, close: async () => product.close?.() };
}

/** The registry that knows Nectar's own backends and loads them when first needed. */
export const defaultRegistry: DownloaderRegistry = new DownloaderRegistry({ known: knownBackends });
