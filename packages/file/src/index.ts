import type { DownloaderRegistry } from '@nectar/core';
import { fileBackend } from './backend.js';

export { type FileBackend, type FileBackendOptions, fileBackend } from './backend.js';
export { FileDownloader, type FileMode } from './downloader.js';

/**
 * Adds file: to a registry (the default registry calls this when it first meets a file: URL):
 * a backend object that takes fileMode from the registry downloader's config when opened.
 */
export function register(registry: DownloaderRegistry): void {
  registry.register('file', () => fileBackend());
}
