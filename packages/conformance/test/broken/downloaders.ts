import { EventEmitter, once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DownloaderConfig, type DownloadEventListener, type DownloadReport, NectarError, type TransferJob } from '@nectar/core/backend';
import { ReferenceDownloader } from '../support/reference-downloader.js';

/** Delivers downloadStarted after the first progress event. */
class WrongEventOrder extends ReferenceDownloader {
  constructor(config?: DownloaderConfig, listener: DownloadEventListener = {}) {
    const pending = new Set<DownloadReport>();
    super(config, {
      ...listener,
      downloadStarted: (r) => void pending.add(r),
      downloadProgress: (r) => {
        listener.downloadProgress?.(r);
        if (pending.delete(r)) listener.downloadStarted?.(r);
      },
    });
  }
}

/** Writes straight to the destination path, so a failure leaves half a file behind. */
class LeavesPartialFiles extends ReferenceDownloader {
  protected override async transfer(job: TransferJob): Promise<void> {
    if (typeof job.request.destination === 'string') {
      const direct = createWriteStream(job.request.destination);
      direct.write('partial');
      await new Promise((resolve) => direct.end(resolve));
    }
    return super.transfer(job);
  }
}

/** Replaces the config's maxConcurrent with its own. */
class IgnoresMaxConcurrent extends ReferenceDownloader {
  constructor(config: DownloaderConfig = new DownloaderConfig(), listener?: DownloadEventListener) {
    super(new DownloaderConfig({ ...config, maxConcurrent: 1000 }), listener);
  }
}

/** Pipes into the caller's stream itself, which ends it. */
class ClosesTheStream extends ReferenceDownloader {
  protected override async transfer(job: TransferJob): Promise<void> {
    await super.transfer(job);
    const destination = job.request.destination;
    if (typeof destination !== 'string') await pipeline(async function* () {}, destination);
  }
}

/** Lets an 'error' go unheard after refusing a response, as undici's destroyed body once did: a crash. */
class CrashesOnRefusal extends ReferenceDownloader {
  protected override async transfer(job: TransferJob): Promise<void> {
    try {
      await super.transfer(job);
    } catch (error) {
      setImmediate(() => new EventEmitter().emit('error', error));
      throw error;
    }
  }
}

/** Writes a caller's stream itself and waits for 'drain' whatever happens: a cancel never ends the wait. */
class IgnoresCancelOnStuckStream extends ReferenceDownloader {
  protected override async transfer(job: TransferJob): Promise<void> {
    const destination = job.request.destination;
    if (typeof destination === 'string') return super.transfer(job);
    await job.responded({ totalBytes: null });
    for (let i = 0; i < 64; i++) if (!destination.write(Buffer.alloc(64 * 1024))) await once(destination as Writable, 'drain');
  }
}

/**
 * Hears a cancel 3 s late while the response has not begun, as a client whose wait for the
 * headers ignores the signal would: once bytes flow, core's sink cuts the body short anyway.
 */
class CancelsLateBeforeFirstByte extends ReferenceDownloader {
  protected override transfer(job: TransferJob): Promise<void> {
    const late = new AbortController();
    const hear = () => setTimeout(() => late.abort(job.signal.reason), 3_000).unref();
    job.signal.addEventListener('abort', hear, { once: true });
    return super.transfer({ ...job, signal: late.signal });
  }
}

/** The message every request of FailsEveryRequest fails with, which the suite's failures must show. */
export const FAILS_EVERY_REQUEST = 'broken on purpose: this downloader never sends a request';

/** Fails every request with one coded error, so the suite's failure messages can be checked for it. */
class FailsEveryRequest extends ReferenceDownloader {
  protected override async transfer(): Promise<void> {
    throw new NectarError('NECTAR_BACKEND', FAILS_EVERY_REQUEST);
  }
}

export const broken = {
  'wrong-event-order': WrongEventOrder,
  'leaves-partial-files': LeavesPartialFiles,
  'ignores-max-concurrent': IgnoresMaxConcurrent,
  'closes-the-stream': ClosesTheStream,
  'crashes-on-refusal': CrashesOnRefusal,
  'ignores-cancel-on-stuck-stream': IgnoresCancelOnStuckStream,
  'cancels-late-before-first-byte': CancelsLateBeforeFirstByte,
  'fails-every-request': FailsEveryRequest,
} as const;

export type BrokenName = keyof typeof broken;
