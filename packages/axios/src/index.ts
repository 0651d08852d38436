import type { DownloaderRegistry } from '@nectar/core';
import { type AxiosBackendOptions, axiosBackend } from './backend.js';

export { type AxiosBackendOptions, axiosBackend } from './backend.js';
export { AxiosDownloader, type AxiosDownloaderOptions } from './downloader.js';

/**
 * Registers the axios backend for http: and https: URLs (what core's lazy loading calls): the
 * registry's downloader composes it, so no downloader of its own is built. `options.axios` makes
 * every downloader the registry creates use your instance.
 */
export function register(registry: DownloaderRegistry, options: AxiosBackendOptions = {}): void {
  registry.register(['http', 'https'], () => axiosBackend(options));
}
