// A third party's downloader for file:// URLs, in a few lines: everything but reading the
// bytes (events, reports, atomic writes, limits, cancel) comes from @nectar/core.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { Downloader, NectarError, supportsAll, toNectarError } from '@nectar/core/backend';

export class TinyFileDownloader extends Downloader {
  schemes = ['file'];
  // Honest about what it does: the speed limit and stream destinations come from core's sink.
  supports = { ...supportsAll(false), maxSpeed: true, streamDestination: true };

  async transfer(job) {
    const path = fileURLToPath(job.url);
    const info = await stat(path).catch((error) => {
      throw toNectarError(error); // ENOENT → NECTAR_NOT_FOUND, EACCES → NECTAR_PERMISSION
    });
    if (!info.isFile()) throw new NectarError('NECTAR_NOT_FOUND', `${path} is not a file`);
    await job.responded({ totalBytes: info.size, resumed: false, finalUrl: job.url.href });
    await pipeline(createReadStream(path, { signal: job.signal }), job.sink);
  }
}

/** What a registry calls to add this package's scheme. */
export function register(registry) {
  registry.register('file', (config, listener) => new TinyFileDownloader(config, listener));
}
