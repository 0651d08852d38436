import type { DownloaderRegistry } from '@nectar/core';
import { AxiosDownloader, type AxiosDownloaderOptions } from './downloader.js';

export { AxiosDownloader, type AxiosDownloaderOptions } from './downloader.js';

/**
 * Registers AxiosDownloader for http: and https: URLs (what core's lazy loading calls).
 * `options.axios` makes every downloader the registry creates use your instance.
 */
export function register(registry: DownloaderRegistry, options: AxiosDownloaderOptions = {}): void {
  registry.register(['http', 'https'], (config, listener) => new AxiosDownloader(config, listener, options));
}
