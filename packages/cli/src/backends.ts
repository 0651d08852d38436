import { DownloaderRegistry } from '@nectar/core';
import { UsageError } from './args.js';

export const httpBackends = ['undici', 'axios'] as const;
export type HttpBackend = (typeof httpBackends)[number];

export function checkBackend(name: string | undefined): HttpBackend {
  if (name === undefined) return 'undici';
  if ((httpBackends as readonly string[]).includes(name)) return name as HttpBackend;
  throw new UsageError(`--backend must be ${httpBackends.join(' or ')}, got ${JSON.stringify(name)}`);
}

/**
 * A registry of its own, every backend loaded on the first URL of its scheme (a plain get of
 * one https: URL never loads the file backend): http(s) from the chosen package only, so the
 * choice wins over core's order; sftp: when installed.
 */
export async function createRegistry(backend: HttpBackend): Promise<DownloaderRegistry> {
  // An axios asked for but not installed is a usage error now, not a failure of every URL later.
  if (backend === 'axios') await checkAxios();
  const http = [`@nectar/${backend}`];
  const known = { http, https: http, file: ['@nectar/file'], sftp: ['@nectar/sftp'] };
  return new DownloaderRegistry({ known, load: loadFromInstallation });
}

/**
 * Backends come from nectar's own installation: each import below is resolved from this file.
 * Core's default loader falls back to the current directory's node_modules, which for a global
 * `nectar` would run whatever code the folder it is started in holds (and a second copy of core).
 * Written out one by one so that a bundler sees them.
 */
const installed: Readonly<Record<string, () => Promise<unknown>>> = {
  '@nectar/undici': () => import('@nectar/undici'),
  '@nectar/file': () => import('@nectar/file'),
  '@nectar/axios': () => import('@nectar/axios'),
  '@nectar/sftp': () => import('@nectar/sftp'),
};

export async function loadFromInstallation(specifier: string): Promise<unknown> {
  const load = installed[specifier];
  // async: a missing package must come as a rejection, which core's registry reads as "not installed".
  if (load === undefined) throw Object.assign(new Error(`Cannot find package '${specifier}'`), { code: 'ERR_MODULE_NOT_FOUND' });
  return load();
}

async function checkAxios(): Promise<void> {
  try {
    await loadFromInstallation('@nectar/axios');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new UsageError('--backend axios needs @nectar/axios beside @nectar/cli: npm install @nectar/axios');
  }
}
