import type { DownloaderRegistry } from '@nectar/core';
import { sftpBackend } from './backend.js';

export { sftpBackend } from './backend.js';
export { SftpDownloader } from './downloader.js';
export type { SftpConfigOptions } from './options.js';
export { fingerprintOf } from './host-key.js';

/**
 * Registers the sftp backend for sftp: URLs (what core's lazy loading calls): the registry's
 * downloader composes it and opens it with its own config, so no downloader of its own is built.
 */
export function register(registry: DownloaderRegistry): void {
  registry.register('sftp', () => sftpBackend());
}
