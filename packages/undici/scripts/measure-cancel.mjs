// cancel() latency: a large download canceled after 1 s; time until download() settles.
// node scripts/measure-cancel.mjs <url> <folder> <threads>
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const [url, folder, threads] = process.argv.slice(2);
const downloader = new UndiciDownloader({ threads: Number(threads), maxSpeed: 100 * 2 ** 20 });
const latencies = [];
for (let i = 0; i < 5; i++) {
  const done = downloader.download([new DownloadRequest(url, join(folder, `cancel-${i}.bin`))]);
  await sleep(1000);
  const canceled = performance.now();
  downloader.cancel();
  const [report] = await done;
  latencies.push(performance.now() - canceled);
  if (report.state !== 'canceled') throw new Error(`state ${report.state}`);
}
await downloader.close();
latencies.sort((a, b) => a - b);
console.log(`threads ${threads}: cancel settled in ${latencies.map((l) => l.toFixed(1)).join(', ')} ms (median ${latencies[2].toFixed(1)})`);
