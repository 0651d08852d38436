import { constants, createReadStream } from 'node:fs';
import { copyFile, link, open, symlink, unlink } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import {
  Downloader,
  type DownloaderConfig,
  type DownloaderConfigInput,
  type DownloadEventListener,
  NectarArgumentError,
  NectarError,
  type Supports,
  supportsAll,
  type TransferJob,
} from '@nectar/core';
import { sourcePath, statSource, validatorOf } from './source.js';

export type FileMode = 'copy' | 'hardlink' | 'symlink';

const modes: readonly FileMode[] = ['copy', 'hardlink', 'symlink'];

/**
 * Up to this size, with no speed limit, one copyFile() (copy_file_range, or a reflink) serves the
 * file: at page-cache speeds that is well under the 100 ms a cancel may take.
 */
const FAST_COPY_BYTES = 32 * 1024 * 1024;

/**
 * Copies into the part file in blocks through one reused buffer: no stream machinery or
 * per-chunk allocation, and a cancel or speed limit takes effect between blocks.
 */
async function copyBlocks(job: TransferJob, path: string, size: number, tempPath: string): Promise<void> {
  const maxSpeed = job.config.maxSpeed;
  // Under a speed limit, blocks of about 1/8 s keep the rate smooth and a cancel prompt.
  const block = maxSpeed === undefined ? 4 * 1024 * 1024 : Math.min(4 * 1024 * 1024, Math.max(16 * 1024, Math.floor(maxSpeed / 8)));
  const buffer = Buffer.allocUnsafe(block);
  const [source, target] = await Promise.all([open(path, 'r'), open(tempPath, 'r+')]);
  try {
    for (let position = job.offset; position < size; ) {
      job.signal.throwIfAborted();
      const { bytesRead } = await source.read(buffer, 0, Math.min(block, size - position), position);
      if (bytesRead === 0) break;
      await job.throttle(bytesRead);
      await target.write(buffer, 0, bytesRead, position);
      position += bytesRead;
      job.progressed(bytesRead);
    }
  } finally {
    await Promise.all([source.close(), target.close()]);
  }
}

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
    const path = sourcePath(job.url);
    const info = await statSource(path);
    await job.responded({ totalBytes: info.size, resumed: job.offset > 0, validator: validatorOf(info), finalUrl: job.url.href });
    if (this.mode !== 'copy') return this.#link(job, path, info.size);
    if (job.tempPath === null) {
      await pipeline(createReadStream(path, { start: job.offset, highWaterMark: 1024 * 1024, signal: job.signal }), job.sink);
    } else if (job.offset === 0 && info.size <= FAST_COPY_BYTES && job.config.maxSpeed === undefined) {
      await copyFile(path, job.tempPath, constants.COPYFILE_FICLONE);
      job.signal.throwIfAborted();
      job.progressed(info.size);
    } else {
      await copyBlocks(job, path, info.size, job.tempPath);
    }
  }

  /** The part file becomes the link, so core's rename still makes the destination appear atomically. */
  async #link(job: TransferJob, path: string, size: number): Promise<void> {
    if (job.tempPath === null) {
      throw new NectarError('NECTAR_NOT_SUPPORTED', `config.fileMode '${this.mode}' needs a path destination, not a stream`, { details: { field: 'fileMode' } });
    }
    await unlink(job.tempPath);
    try {
      await (this.mode === 'hardlink' ? link(path, job.tempPath) : symlink(path, job.tempPath));
    } catch (error) {
      throw new NectarError('NECTAR_DESTINATION', `cannot ${this.mode} ${job.tempPath} to ${path}: ${(error as Error).message}`, { cause: error });
    }
    job.progressed(size);
  }
}
