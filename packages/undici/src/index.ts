import type { DownloaderRegistry } from '@nectar/core';
import { UndiciDownloader } from './downloader.js';

export { type UndiciConfigOptions, UndiciDownloader } from './downloader.js';
export { environmentNamesProxy } from './proxy-environment.js';

/** Registers UndiciDownloader for http: and https: URLs (what core's lazy loading calls). */
export function register(registry: DownloaderRegistry): void {
  registry.register(['http', 'https'], (config, listener) => new UndiciDownloader(config, listener));
}
