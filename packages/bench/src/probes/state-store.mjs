// The state store's two figures (issue #17): memory with 1,000,000 records, and a second run of
// a list against the first. `node state-store.mjs --records N --files N --dir D`; prints one
// JSON line. The files come from a node:http server in this process that answers If-None-Match
// with 304, as nginx does for static files.
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DownloadRequest, SqliteStateStore } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

const { values } = parseArgs({ options: { records: { type: 'string' }, files: { type: 'string' }, dir: { type: 'string' } } });
const records = Number(values.records ?? 1_000_000);
const files = Number(values.files ?? 2000);
const dir = values.dir;
const MiB = 1024 * 1024;
const rssMiB = () => process.memoryUsage().rss / MiB;

/** Puts `records` records in batches of 10,000, RSS sampled every 100,000; then 100,000 random gets. */
async function storeMemory() {
  const store = await SqliteStateStore.open(join(dir, 'memory.db'));
  const rss = [];
  const started = performance.now();
  for (let from = 0; from < records; from += 10_000) {
    const batch = Array.from({ length: Math.min(10_000, records - from) }, (_, i) => record(from + i));
    await store.putMany(batch);
    if ((from + 10_000) % 100_000 === 0) rss.push({ records: from + 10_000, rssMiB: rssMiB() });
  }
  const putSeconds = (performance.now() - started) / 1000;
  const reading = performance.now();
  for (let i = 0; i < 100_000; i++) await store.get(`/mirror/pool/${(i * 7919) % records}.deb`);
  const getsPerSecond = 100_000 / ((performance.now() - reading) / 1000);
  const count = await store.count();
  await store.close();
  return { records: count, putSeconds, getsPerSecond, rss };
}

function record(i) {
  return {
    destination: `/mirror/pool/${i}.deb`,
    url: `https://deb.example.org/debian/pool/main/${i}.deb`,
    etag: `"${i.toString(16)}-5f3a"`,
    lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT',
    size: 1000 + i,
    mtimeNs: String(1_764_583_200_000_000_000n + BigInt(i)),
    digest: `sha256:${createHash('sha256').update(String(i)).digest('hex')}`,
    outcome: 'downloaded',
    updatedAt: Date.now(),
  };
}

/** The same list twice with one store: the first run downloads, the second only asks (304). */
async function secondRun() {
  const body = Buffer.alloc(16 * 1024, 7);
  const etag = '"bench-16k"';
  const server = createServer((req, res) => {
    if (req.headers['if-none-match'] === etag) return res.writeHead(304, { etag }).end();
    res.writeHead(200, { etag, 'content-length': body.length }).end(body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${server.address().port}`;
  const dest = join(dir, 'files');
  await mkdir(dest);
  const list = () => Array.from({ length: files }, (_, i) => new DownloadRequest(`${origin}/f/${i}`, join(dest, `${i}.bin`)));
  const timed = async () => {
    const downloader = new UndiciDownloader({ state: join(dir, 'run.db') });
    const started = performance.now();
    const reports = await downloader.download(list());
    const seconds = (performance.now() - started) / 1000;
    await downloader.close();
    const outcomes = {};
    for (const r of reports) outcomes[r.outcome ?? r.state] = (outcomes[r.outcome ?? r.state] ?? 0) + 1;
    return { seconds, outcomes };
  };
  const first = await timed();
  const second = await timed();
  server.close();
  return { files, first, second };
}

const memory = await storeMemory();
const resync = await secondRun();
process.stdout.write(`${JSON.stringify({ memory, resync, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
