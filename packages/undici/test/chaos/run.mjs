// One chaos run in a process of its own, so that the test can see it exit by itself after
// close(): `node run.mjs <origin> <folder> <threads> <count> <secret>`. Prints one JSON summary.
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const [origin, folder, threads, count, secret] = process.argv.slice(2);
const faults = [];
process.on('uncaughtException', (error) => faults.push(`uncaught: ${error?.message}`));
process.on('unhandledRejection', (reason) => faults.push(`unhandled: ${reason?.message ?? reason}`));

const downloader = new UndiciDownloader({
  threads: Number(threads),
  maxConcurrent: 16,
  retries: 2,
  retryDelay: 5,
  retryMaxDelay: 20,
  bodyTimeout: 2000,
  minSpeed: 2000,
  minSpeedTime: 1000,
  basicAuthUsername: 'chaos',
  basicAuthPassword: secret,
});
const url = new URL(origin);
url.username = 'chaos';
url.password = secret;
url.searchParams.set('token', secret);
function* requests() {
  for (let i = 0; i < Number(count); i++) {
    const item = new URL(url);
    item.pathname = `/f/${i}`;
    yield new DownloadRequest(item.href, `${folder}/f${i}.bin`, { data: i });
  }
}
const reports = [];
for await (const report of downloader.stream(requests())) reports.push(report.toJSON());
await downloader.close();
process.stdout.write(`${JSON.stringify({ reports, faults })}\n`);
// No process.exit(): the test checks that nothing keeps the process alive.
