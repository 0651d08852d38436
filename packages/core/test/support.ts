import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Downloader, NectarError, type Supports, supportsAll, type TransferJob } from '../src/backend.js';

/**
 * A tiny backend for a custom 'disk:' scheme that reads real files: enough to exercise the base
 * class and the registry without any network. `failures` makes the first attempts fail (retryable).
 */
export class DiskDownloader extends Downloader {
  readonly schemes = ['disk', 'disk2'];
  readonly supports: Supports = { ...supportsAll(true), proxy: false, httpsProxy: false };
  failures = 0;
  released = false;

  protected async transfer(job: TransferJob): Promise<void> {
    const path = fileURLToPath(job.url.href.replace(/^disk2?:/, 'file:'));
    if (this.failures > 0) {
      this.failures--;
      throw new NectarError('NECTAR_NETWORK', 'injected failure', { retryable: true });
    }
    const info = await stat(path).catch((error: unknown) => {
      throw new NectarError('NECTAR_NOT_FOUND', `${path}: ${(error as Error).message}`);
    });
    await job.responded({ totalBytes: info.size, resumed: false });
    await pipeline(createReadStream(path, { start: 0 }), job.sink);
  }

  protected override async release(): Promise<void> {
    this.released = true;
  }
}

export const diskUrl = (path: string) => `disk://${path}`;
