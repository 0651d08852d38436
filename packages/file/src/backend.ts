import { type Backend, type ByteRange, type TransferJob, supportsAll } from '@nectar/core/backend';
import { WorkerPool, threadCount } from '@nectar/core/threads';
import { copyRange, copySource } from './copy.js';
import { linkAsPart } from './link.js';
import { type FileMode, fileModeOf } from './mode.js';
import { refuseSameFile } from './same-file.js';
import { checkCopied, closeSource, openSource, type Source, sourcePath, validatorOf } from './source.js';

export interface FileBackendOptions {
  /** Overrides config.fileMode; without either, 'copy'. */
  readonly fileMode?: FileMode;
  /** Worker threads that copy (core's executor); 0 copies on the main thread (default: `config.threads`, else 0). */
  readonly threads?: number;
}

/** The file backend object, with the worker pool it copies in (when `threads` > 0). */
export interface FileBackend extends Backend {
  /** The worker pool, for tests and tools; undefined in-process, before open() and after close(). */
  readonly workerPool: WorkerPool | undefined;
}

/** The module a worker imports to make its own copy of this backend: this package (its build when the tests run src/). */
function workerModule(): string {
  if (import.meta.url.endsWith('.ts')) return new URL('../dist/index.js', import.meta.url).href;
  return import.meta.resolve('@nectar/file');
}

/**
 * Serves file: URLs by copying (block by block, so progress, maxSpeed and cancel hold), or by
 * making the destination a hard or symbolic link to the source (fileMode), as Nectar's
 * local-file downloader did. A plain object for `ComposedDownloader` or a registry.
 */
export function fileBackend(options: FileBackendOptions = {}): FileBackend {
  // Checked now when given; from config.fileMode it is known only in open().
  let mode = options.fileMode === undefined ? undefined : fileModeOf(options.fileMode);
  let pool: WorkerPool | null = null;
  return {
    name: 'file',
    schemes: ['file'],
    supports: { ...supportsAll(false), maxSpeed: true, streamDestination: true, resume: true, ranges: true, state: true, afterHeaders: true },
    get workerPool() {
      return pool ?? undefined;
    },
    open(env) {
      mode ??= fileModeOf(env.settings.fileMode);
      const threads = threadCount(options.threads ?? env.settings.threads);
      if (threads > 0) pool = new WorkerPool(threads, { module: workerModule(), export: 'fileBackend', options: { fileMode: mode, threads: 0 } }, env);
    },
    transfer: (job) => (pool === null ? transfer(job, mode ?? 'copy') : pool.run(job)),
    async close() {
      const closing = pool;
      pool = null;
      await closing?.close();
    },
  };
}

async function transfer(job: TransferJob, mode: FileMode): Promise<void> {
  const source = openSource(sourcePath(job.url));
  try {
    refuseSameFile(source, job.request.destination);
    await transferFrom(job, source, mode);
  } finally {
    closeSource(source);
  }
}

async function transferFrom(job: TransferJob, source: Source, mode: FileMode): Promise<void> {
  // A file of unknown size has nothing to check a partial copy against: it never resumes.
  const validator = source.size === null ? null : validatorOf(source.info);
  if (job.range !== null) return transferRange(job, source, job.range, validator);
  const resumed = job.offset > 0 && validator !== null && job.validator === validator;
  // A link is the whole file at once: only a copy can be split into ranges.
  await job.responded({ totalBytes: source.size, resumed, validator, finalUrl: job.url.href, ranges: mode === 'copy' && validator !== null });
  if (mode !== 'copy') return linkAsPart(job, source, mode);
  const start = resumed ? job.offset : 0;
  const copied = await copySource(job, source, start);
  checkCopied(source, start + copied);
}

/** One segment of a file core splits: that range of the same version, or core refuses it. */
async function transferRange(job: TransferJob, source: Source, range: ByteRange, validator: string | null): Promise<void> {
  const same = validator !== null && job.validator === validator;
  await job.responded({ totalBytes: source.size, resumed: same, validator, finalUrl: job.url.href, ranges: true });
  await copyRange(job, source, range);
}
