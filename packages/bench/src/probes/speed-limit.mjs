// maxSpeed accuracy: enough 1 MiB files for `seconds` at `rate` bytes/s, 8 at a time through one
// downloader; the achieved rate is all bytes over the time download() took.
//
//   node speed-limit.mjs --backend undici --list urls --dest DIR --rate BYTES --seconds 10 [--config JSON]
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { DownloadRequest } from '@nectar/core';
import { createDownloader } from '../backends.mjs';

const { values } = parseArgs({
  options: {
    backend: { type: 'string' },
    list: { type: 'string' },
    dest: { type: 'string' },
    rate: { type: 'string' },
    seconds: { type: 'string' },
    fileSize: { type: 'string' },
    config: { type: 'string', default: '{}' },
  },
});
const rate = Number(values.rate);
const wanted = Math.max(1, Math.round((rate * Number(values.seconds)) / Number(values.fileSize)));
const urls = (await readLines(values.list)).slice(0, wanted);

const downloader = await createDownloader(values.backend, { ...JSON.parse(values.config), maxSpeed: rate });
const started = performance.now();
let reports;
try {
  reports = await downloader.download(urls.map((url) => new DownloadRequest(url, join(values.dest, basename(new URL(url).pathname)))));
} finally {
  await downloader.close();
}
const seconds = (performance.now() - started) / 1000;
const failed = reports.filter((r) => r.state !== 'succeeded');
const bytes = (await Promise.all(reports.map((r) => stat(r.destination).then((s) => s.size, () => 0)))).reduce((a, b) => a + b, 0);
const achieved = bytes / seconds;
console.log(JSON.stringify({ files: urls.length, bytes, elapsedSeconds: seconds, achieved, deviation: achieved / rate - 1, failed: failed.length, firstError: failed[0]?.errorReport ?? null }));
if (failed.length > 0) process.exitCode = 1;

async function readLines(path) {
  const lines = [];
  for await (const line of createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY })) if (line) lines.push(line);
  return lines;
}
