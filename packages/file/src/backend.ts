import { type Backend, type TransferJob, supportsAll } from '@nectar/core/backend';
import { copySource } from './copy.js';
import { linkAsPart } from './link.js';
import { type FileMode, fileModeOf } from './mode.js';
import { refuseSameFile } from './same-file.js';
import { checkCopied, openSource, type Source, sourcePath, validatorOf } from './source.js';

export interface FileBackendOptions {
  /** Overrides config.fileMode; without either, 'copy'. */
  readonly fileMode?: FileMode;
}

/**
 * Serves file: URLs by copying (block by block, so progress, maxSpeed and cancel hold), or by
 * making the destination a hard or symbolic link to the source (fileMode), as Nectar's
 * local-file downloader did. A plain object for `ComposedDownloader` or a registry.
 */
export function fileBackend(options: FileBackendOptions = {}): Backend {
  // Checked now when given; from config.fileMode it is known only in open().
  let mode = options.fileMode === undefined ? undefined : fileModeOf(options.fileMode);
  return {
    name: 'file',
    schemes: ['file'],
    supports: { ...supportsAll(false), maxSpeed: true, streamDestination: true, resume: true, state: true, afterHeaders: true },
    open(env) {
      mode ??= fileModeOf(env.settings.fileMode);
    },
    transfer: (job) => transfer(job, mode ?? 'copy'),
  };
}

async function transfer(job: TransferJob, mode: FileMode): Promise<void> {
  const source = await openSource(sourcePath(job.url));
  try {
    await refuseSameFile(source, job.request.destination);
    await transferFrom(job, source, mode);
  } finally {
    await source.handle.close();
  }
}

async function transferFrom(job: TransferJob, source: Source, mode: FileMode): Promise<void> {
  // A file of unknown size has nothing to check a partial copy against: it never resumes.
  const validator = source.size === null ? null : validatorOf(source.info);
  const resumed = job.offset > 0 && validator !== null && job.validator === validator;
  await job.responded({ totalBytes: source.size, resumed, validator, finalUrl: job.url.href });
  if (mode !== 'copy') return linkAsPart(job, source, mode);
  const start = resumed ? job.offset : 0;
  const copied = await copySource(job, source, start);
  await checkCopied(source, start + copied);
}
