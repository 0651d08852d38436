// Cancel latency: start one large download, call cancel() after `after` ms, and time how long
// download() takes to settle from there. Repeated `times` times with a fresh downloader each.
//
//   node cancel-latency.mjs --backend undici --url URL --dest DIR [--after 1000] [--times 5] [--config JSON]
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { DownloadRequest } from '@nectar/core';
import { createDownloader } from '../backends.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    url: { type: 'string' },
    dest: { type: 'string' },
    after: { type: 'string', default: '1000' },
    times: { type: 'string', default: '5' },
    config: { type: 'string', default: '{}' },
  },
});

const samples = [];
for (let i = 0; i < Number(values.times); i++) samples.push(await cancelOnce(join(values.dest, `cancel-${i}.bin`)));
console.log(JSON.stringify({ samples }));
if (samples.some((s) => s.state !== 'canceled' || s.leftovers > 0)) process.exitCode = 1;

async function cancelOnce(destination) {
  const downloader = await createDownloader(values.backend, JSON.parse(values.config));
  try {
    const settled = downloader.download([new DownloadRequest(values.url, destination)]);
    await sleep(Number(values.after));
    const canceledAt = performance.now();
    downloader.cancel();
    const [report] = await settled;
    const milliseconds = performance.now() - canceledAt;
    // A cancel must leave nothing behind: neither the file nor its part file.
    const leftovers = (await readdir(values.dest)).length;
    return { milliseconds, state: report.state, bytesAtCancel: report.bytesDownloaded, leftovers };
  } finally {
    await downloader.close();
  }
}
