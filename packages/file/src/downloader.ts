import { Downloader, type DownloaderConfig, type DownloaderConfigInput, type DownloadEventListener, NectarArgumentError, type Supports, supportsAll, type TransferJob } from '@nectar/core/backend';
import { copySource } from './copy.js';
import { linkAsPart } from './link.js';
import { refuseSameFile } from './same-file.js';
import { checkCopied, openSource, type Source, sourcePath, validatorOf } from './source.js';

export type FileMode = 'copy' | 'hardlink' | 'symlink';

const modes: readonly FileMode[] = ['copy', 'hardlink', 'symlink'];

/**
 * Downloads file: URLs by copying (block by block, so progress, maxSpeed and cancel hold), or
 * by making the destination a hard or symbolic link to the source
 * (config.fileMode), as Nectar's local-file downloader did.
 */
export class FileDownloader extends Downloader {
  readonly schemes = ['file'];
  readonly supports: Supports = { ...supportsAll(false), maxSpeed: true, streamDestination: true, resume: true };
  readonly mode: FileMode;

  constructor(config?: DownloaderConfig | DownloaderConfigInput, listener?: DownloadEventListener) {
    super(config, listener);
    const mode = this.config.get<unknown>('fileMode', 'copy');
    if (!modes.includes(mode as FileMode)) {
      throw new NectarArgumentError(`config.fileMode must be 'copy', 'hardlink' or 'symlink', got ${JSON.stringify(mode)}`, 'NECTAR_INVALID_CONFIG');
    }
    this.mode = mode as FileMode;
  }

  protected async transfer(job: TransferJob): Promise<void> {
    const source = await openSource(sourcePath(job.url));
    try {
      await refuseSameFile(source, job.request.destination);
      await this.#transferFrom(job, source);
    } finally {
      await source.handle.close();
    }
  }

  async #transferFrom(job: TransferJob, source: Source): Promise<void> {
    // A file of unknown size has nothing to check a partial copy against: it never resumes.
    const validator = source.size === null ? null : validatorOf(source.info);
    const resumed = job.offset > 0 && validator !== null && job.validator === validator;
    await job.responded({ totalBytes: source.size, resumed, validator, finalUrl: job.url.href });
    if (this.mode !== 'copy') return linkAsPart(job, source, this.mode);
    const start = resumed ? job.offset : 0;
    const copied = await copySource(job, source, start);
    await checkCopied(source, start + copied);
  }
}
