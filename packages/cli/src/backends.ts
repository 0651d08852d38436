import { type BackendModule, DownloaderRegistry, knownBackends } from '@nectar/core';
import { register as registerFile } from '@nectar/file';
import { register as registerUndici } from '@nectar/undici';
import { UsageError } from './args.js';

export const httpBackends = ['undici', 'axios'] as const;
export type HttpBackend = (typeof httpBackends)[number];

export function checkBackend(name: string | undefined): HttpBackend {
  if (name === undefined) return 'undici';
  if ((httpBackends as readonly string[]).includes(name)) return name as HttpBackend;
  throw new UsageError(`--backend must be ${httpBackends.join(' or ')}, got ${JSON.stringify(name)}`);
}

/**
 * A registry of its own: file: and the chosen http(s) backend registered explicitly (so the
 * choice wins over core's lazy order), other schemes (sftp:) loaded on first use when installed.
 */
export async function createRegistry(backend: HttpBackend): Promise<DownloaderRegistry> {
  const registry = new DownloaderRegistry({ known: knownBackends, load: loadFromInstallation });
  registerFile(registry);
  if (backend === 'undici') registerUndici(registry);
  else (await loadAxios()).register(registry);
  return registry;
}

/**
 * Backends come from nectar's own installation, resolved from this file: core's default loader
 * falls back to the current directory's node_modules, which for a global `nectar` would run
 * whatever code the folder it is started in holds (and a second copy of core).
 */
export async function loadFromInstallation(specifier: string): Promise<unknown> {
  // async: import.meta.resolve throws a missing package synchronously, and core's registry
  // treats ERR_MODULE_NOT_FOUND as "not installed" only when it comes as a rejection.
  return import(import.meta.resolve(specifier));
}

async function loadAxios(): Promise<BackendModule> {
  try {
    return await import('@nectar/axios');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError('--backend axios needs @nectar/axios beside @nectar/cli: npm install @nectar/axios');
  }
}
