// One run of a long list in a process of its own, so that the test can kill it with SIGKILL:
// `node run.mjs <origin> <folder> <state> <count>`. Prints one line per settled request
// ("<index> <state> <outcome>") and nothing else.
import { join } from 'node:path';
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const [origin, folder, state, count] = process.argv.slice(2);
const downloader = new UndiciDownloader({ ...(process.env.NOSTATE ? {} : { state }), maxConcurrent: 16, retries: 2, retryDelay: 5 });
function* requests() {
  for (let i = 0; i < Number(count); i++) yield new DownloadRequest(`${origin}/f/${i}`, join(folder, `${i}.bin`), { data: i });
}
for await (const report of downloader.stream(requests())) {
  process.stdout.write(`${report.data} ${report.state} ${report.outcome}\n`);
}
await downloader.close();
