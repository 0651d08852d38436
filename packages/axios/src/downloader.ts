import { ComposedDownloader, type DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener } from '@nectar/core/backend';
import { type AxiosBackendOptions, axiosBackend } from './backend.js';

/** The options of `new AxiosDownloader(config, listener, options)`: those of `axiosBackend()`. */
export type AxiosDownloaderOptions = AxiosBackendOptions;

/**
 * Nectar's HTTP(S) downloader on axios, for applications that already use it: core's engine
 * composing `axiosBackend(options)`. Bodies stream straight into core's sink.
 */
export class AxiosDownloader extends ComposedDownloader {
  constructor(config?: DownloaderConfig | DownloaderConfigInput, listener?: DownloadEventListener, options: AxiosDownloaderOptions = {}) {
    super(axiosBackend(options), config, listener);
  }
}
