// The child process every Nectar contender runs: downloads the URLs of a list file into a folder
// with one backend, then exits (non-zero when any request failed). Measured from the outside,
// so its figures include Node's start-up and module loading, as curl's include its own.
//
//   node src/nectar-client.mjs --backend undici --list urls.txt --dest DIR [--config JSON]
import { createReadStream } from 'node:fs';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DownloadRequest } from '@nectar/core';
import { createDownloader } from './backends.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    list: { type: 'string' },
    dest: { type: 'string' },
    config: { type: 'string', default: '{}' },
  },
});

const downloader = await createDownloader(values.backend, JSON.parse(values.config));
try {
  const reports = await downloader.download(requestsFrom(values.list, values.dest));
  const failed = reports.filter((r) => r.state !== 'succeeded');
  if (failed.length > 0) {
    const first = failed[0];
    console.error(`${failed.length} of ${reports.length} failed; first: ${first.url} ${first.state} ${JSON.stringify(first.errorReport)}`);
    process.exitCode = 1;
  }
} finally {
  await downloader.close();
}

/** Requests made lazily from the list, as an application streaming a manifest would. */
async function* requestsFrom(listPath, dest) {
  const lines = createInterface({ input: createReadStream(listPath), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const url of lines) {
    if (url !== '') yield new DownloadRequest(url, join(dest, basename(new URL(url).pathname)));
  }
}
