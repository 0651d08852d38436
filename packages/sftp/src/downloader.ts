import { ComposedDownloader, DownloaderConfig, type DownloadEventListener, withDefaults } from '@nectar/core/backend';
import { sftpBackendWith } from './backend.js';
import { type SftpConfigOptions, sftpOptions } from './options.js';

/**
 * Nectar's sftp:// downloader: core's engine composing the sftp backend. Host keys are verified
 * against known_hosts (or a pinned fingerprint) unless sslValidation is false.
 */
export class SftpDownloader extends ComposedDownloader {
  constructor(config?: DownloaderConfig | SftpConfigOptions, listener?: DownloadEventListener) {
    const resolved = config instanceof DownloaderConfig ? config : new DownloaderConfig(config);
    // Read before super(): a config whose ssh* fields cannot work fails the constructor, as it always did.
    super(sftpBackendWith(sftpOptions(withDefaults(resolved))), resolved, listener);
  }
}
