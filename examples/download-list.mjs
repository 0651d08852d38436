// Download a list of URLs with an event listener that prints progress.
//
// Run from the repository root (after `npm ci && npm run build`):
//   node examples/download-list.mjs
// It starts its own small HTTP server on 127.0.0.1, so it needs no network. Point `urls` at
// real https:// URLs to download from the internet instead.
import { once } from 'node:events';
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloaderConfig, DownloadRequest, defaultRegistry } from '@nectar/core';

// A server that answers /<n>k with n KiB, sent in slices so that progress events have time to fire.
const server = createServer(async (req, res) => {
  const kib = Number.parseInt(req.url.slice(1), 10);
  if (!(kib > 0)) return res.writeHead(404).end('no such file\n');
  res.writeHead(200, { 'content-length': kib * 1024 });
  for (let i = 0; i < kib && !res.destroyed; i += 64) {
    res.write(Buffer.alloc(Math.min(64, kib - i) * 1024, 'x'));
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  res.end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${server.address().port}`;

const dir = await mkdtemp(join(tmpdir(), 'nectar-example-'));
const urls = [`${origin}/256k`, `${origin}/1024k`, `${origin}/64k`, `${origin}/missing`];
const requests = urls.map((url, i) => new DownloadRequest(url, join(dir, `file-${i}.bin`), { data: { index: i } }));

// The listener's methods are all optional; each receives the request's live report.
const downloader = defaultRegistry.create(new DownloaderConfig({ maxConcurrent: 2, retries: 0 }), {
  downloadStarted: (r) => console.log(`started   #${r.data.index} ${r.url}`),
  downloadProgress: (r) => console.log(`progress  #${r.data.index} ${r.bytesDownloaded} / ${r.totalBytes ?? '?'} bytes`),
  downloadSucceeded: (r) => console.log(`succeeded #${r.data.index} → ${r.destination}`),
  downloadFailed: (r) => console.log(`failed    #${r.data.index} ${r.errorReport.code}: ${r.errorReport.message}`),
});

try {
  const reports = await downloader.download(requests);
  const states = reports.map((r) => r.state);
  console.log(`done: ${states.filter((s) => s === 'succeeded').length} succeeded, ${states.filter((s) => s === 'failed').length} failed`);
} finally {
  await downloader.close(); // releases the backend's sockets
  server.close();
  await rm(dir, { recursive: true }); // an example cleans up; keep the folder to look at it
}
