import { ComposedDownloader, DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener } from '@nectar/core/backend';
import { fileBackend } from './backend.js';
import { type FileMode, fileModeOf } from './mode.js';

export type { FileMode } from './mode.js';

/** Downloads file: URLs: core's engine composing `fileBackend()` with config.fileMode. */
export class FileDownloader extends ComposedDownloader {
  readonly mode: FileMode;

  constructor(config?: DownloaderConfig | DownloaderConfigInput, listener?: DownloadEventListener) {
    const resolved = config instanceof DownloaderConfig ? config : new DownloaderConfig(config);
    // Read before super(): a bad fileMode fails the constructor, as it always did.
    const mode = fileModeOf(resolved.get('fileMode'));
    super(fileBackend({ fileMode: mode }), resolved, listener);
    this.mode = mode;
  }
}
