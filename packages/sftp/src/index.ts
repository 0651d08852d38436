import type { DownloaderRegistry } from '@nectar/core';
import { SftpDownloader } from './downloader.js';

export { SftpDownloader } from './downloader.js';
export type { SftpConfigOptions } from './options.js';
export { fingerprintOf } from './host-key.js';

/** Registers SftpDownloader for sftp: URLs (what core's lazy loading calls). */
export function register(registry: DownloaderRegistry): void {
  registry.register('sftp', (config, listener) => new SftpDownloader(config, listener));
}
