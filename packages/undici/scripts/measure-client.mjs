// One measured run: node measure-client.mjs <url-list> <folder> <threads> <ca.pem> [segments]
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const [list, folder, threads, ca, segments = '1'] = process.argv.slice(2);
const urls = readFileSync(list, 'utf8').split('\n').filter(Boolean);
const downloader = new UndiciDownloader({ threads: Number(threads), segments: Number(segments), maxConcurrent: 8, sslCaCert: readFileSync(ca, 'utf8'), retries: 0 });
function* requests() {
  for (const url of urls) yield new DownloadRequest(url, join(folder, basename(new URL(url).pathname)));
}
let failed = 0;
for await (const report of downloader.stream(requests())) if (report.state !== 'succeeded') failed++;
await downloader.close();
if (failed > 0) {
  console.error(`${failed} failed`);
  process.exit(1);
}
