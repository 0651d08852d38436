// Memory over a long run: `count` requests from a generator through downloader.stream(), all of
// one small file into a rotating set of destinations. The harness reads the peak RSS from outside;
// this prints how many settled, and how fast.
//
//   node stream-memory.mjs --url URL --dest DIR --count 100000 [--config JSON]
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DownloadRequest } from '@nectar/core';
import { createDownloader } from '../backends.mjs';

// More names than requests in flight, so no two in flight share a destination; few enough that
// tmpfs holds them all.
const DESTINATIONS = 512;

const { values } = parseArgs({
  options: { url: { type: 'string' }, dest: { type: 'string' }, count: { type: 'string' }, config: { type: 'string', default: '{}' } },
});
const count = Number(values.count);

function* requests() {
  for (let i = 0; i < count; i++) yield new DownloadRequest(values.url, join(values.dest, `${i % DESTINATIONS}.bin`));
}

const downloader = await createDownloader('undici', JSON.parse(values.config));
const states = {};
let firstError = null;
const started = performance.now();
try {
  for await (const report of downloader.stream(requests())) {
    states[report.state] = (states[report.state] ?? 0) + 1;
    if (report.state !== 'succeeded') firstError ??= report.errorReport;
  }
} finally {
  await downloader.close();
}
const seconds = (performance.now() - started) / 1000;
console.log(JSON.stringify({ count, states, seconds, filesPerSecond: count / seconds, firstError }));
if (states.succeeded !== count) process.exitCode = 1;
