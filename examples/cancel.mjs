// Stop downloads: downloader.cancel() from a timer, and an AbortSignal for one call.
//
// Run from the repository root (after `npm ci && npm run build`):
//   node examples/cancel.mjs
// A local server sends a file slowly (no network needed). Canceled requests end in the
// 'canceled' state, and nothing partial is left on disk.
import { once } from 'node:events';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloaderConfig, DownloadRequest, defaultRegistry } from '@nectar/core';

// 1 MiB at about 64 KiB/s: far longer than this example waits.
const server = createServer(async (_req, res) => {
  res.writeHead(200, { 'content-length': 1024 * 1024 });
  for (let i = 0; i < 64 && !res.destroyed; i++) {
    res.write(Buffer.alloc(16 * 1024));
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  res.end();
});
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const url = (name) => `http://127.0.0.1:${server.address().port}/${name}`;

const dir = await mkdtemp(join(tmpdir(), 'nectar-cancel-'));
const downloader = defaultRegistry.create(new DownloaderConfig(), {
  downloadCanceled: (r) => console.log(`canceled ${r.url} after ${r.bytesDownloaded} bytes`),
});

// 1. cancel() ends everything in flight on this downloader; the instance stays usable.
const timer = setTimeout(() => downloader.cancel(), 500);
const first = await downloader.download([new DownloadRequest(url('a.bin'), join(dir, 'a.bin')), new DownloadRequest(url('b.bin'), join(dir, 'b.bin'))]);
clearTimeout(timer);
console.log(`cancel():    ${first.map((r) => r.state).join(', ')}`);

// 2. An AbortSignal ends one call (here: after 500 ms); AbortController.abort() works the same.
const second = await downloader.download([new DownloadRequest(url('c.bin'), join(dir, 'c.bin'))], { signal: AbortSignal.timeout(500) });
console.log(`AbortSignal: ${second.map((r) => r.state).join(', ')}`);

console.log(`files left in ${dir}: ${(await readdir(dir)).length}`);
await downloader.close();
server.close();
await rm(dir, { recursive: true });
