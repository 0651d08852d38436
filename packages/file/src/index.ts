import type { DownloaderRegistry } from '@nectar/core';
import { FileDownloader } from './downloader.js';

export { FileDownloader, type FileMode } from './downloader.js';

/** Adds file: to a registry (the default registry calls this when it first meets a file: URL). */
export function register(registry: DownloaderRegistry): void {
  registry.register('file', (config, listener) => new FileDownloader(config, listener));
}
