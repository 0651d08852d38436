import type { DownloaderRegistry } from '@nectar/core';
import { undiciBackend } from './backend.js';

export { type UndiciBackend, type UndiciBackendOptions, undiciBackend } from './backend.js';
export { type UndiciConfigOptions, UndiciDownloader } from './downloader.js';
export { environmentNamesProxy } from './http/proxy-environment.js';

/**
 * Registers the undici backend for http: and https: URLs (what core's lazy loading calls). The
 * factory makes the backend object alone: the registry's downloader opens it with its own settings.
 */
export function register(registry: DownloaderRegistry): void {
  registry.register(['http', 'https'], () => undiciBackend());
}
