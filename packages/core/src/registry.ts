import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type Capability, type Supports, capabilities, supportsAll } from './capabilities.js';
import type { DownloaderConfig } from './config.js';
import { Downloader, type Route } from './downloader.js';
import { NectarArgumentError, NectarError } from './errors.js';
import type { DownloadEventListener } from './events.js';
import type { TransferJob } from './job.js';
import { describe } from './request.js';

export type DownloaderFactory = (config: DownloaderConfig, listener?: DownloadEventListener) => Downloader;

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

  create(config?: DownloaderConfig, listener?: DownloadEventListener): Downloader {
    return new RoutingDownloader(this, config, listener);
  }

  #loadPackage(name: string): Promise<boolean> {
    let loading = this.#loaded.get(name);
    if (loading === undefined) {
      loading = this.#load(name).then(
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

/** The downloader a registry creates: schedules everything itself, borrows each backend's hook. */
class RoutingDownloader extends Downloader {
  readonly #registry: DownloaderRegistry;
  readonly #backends = new Map<DownloaderFactory, Downloader>();

  constructor(registry: DownloaderRegistry, config?: DownloaderConfig, listener?: DownloadEventListener) {
    super(config, listener);
    this.#registry = registry;
  }

  get schemes(): readonly string[] {
    return this.#registry.schemes;
  }

  /** What every backend created so far supports (all true before the first). */
  get supports(): Supports {
    const backends = [...this.#backends.values()];
    const all = supportsAll(true) as Record<Capability, boolean>;
    for (const c of capabilities) all[c] = backends.every((b) => b.supports[c]);
    return all;
  }

  protected override async route(url: URL): Promise<Route> {
    const factory = await this.#registry.resolve(url.protocol.slice(0, -1));
    let backend = this.#backends.get(factory);
    if (backend === undefined) {
      backend = factory(this.config, this.listener);
      this.#backends.set(factory, backend);
    }
    return Downloader.routeOf(backend, url);
  }

  protected override transfer(job: TransferJob): Promise<void> {
    return Promise.reject(new NectarError('NECTAR_BACKEND', `RoutingDownloader routes ${job.url.href}; it has no transfer of its own`));
  }

  protected override async release(): Promise<void> {
    await Promise.all([...this.#backends.values()].map((b) => b.close()));
    this.#backends.clear();
  }
}

/** The registry that knows Nectar's own backends and loads them when first needed. */
export const defaultRegistry: DownloaderRegistry = new DownloaderRegistry({ known: knownBackends });
