// Register a downloader of your own for a made-up URL scheme, next to the built-in ones.
//
// Run from the repository root (after `npm ci && npm run build`):
//   node examples/custom-scheme.mjs
// `mem://bucket/key` URLs are served from a Map — a stand-in for an object store, a database,
// any source of bytes. Core does the rest: scheduling, events, reports, atomic writes, limits.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Downloader, DownloaderConfig, DownloaderRegistry, DownloadRequest, NectarError, knownBackends, supportsAll } from '@nectar/core/backend';

const store = new Map([
  ['notes/hello.txt', Buffer.from('hello from mem://\n')],
  ['notes/numbers.csv', Buffer.from('1,2,3\n4,5,6\n')],
]);

class MemoryDownloader extends Downloader {
  schemes = ['mem'];
  // Bytes go through core's sink, so the speed limit and stream destinations work for free;
  // headers, auth, proxies and TLS mean nothing here, and a request using them fails clearly.
  supports = { ...supportsAll(false), maxSpeed: true, streamDestination: true };

  /** The one hook a backend writes: move the bytes of one attempt into job.sink. */
  async transfer(job) {
    const key = `${job.url.host}${job.url.pathname}`; // mem://notes/hello.txt → notes/hello.txt
    const body = store.get(key);
    if (body === undefined) throw new NectarError('NECTAR_NOT_FOUND', `no object ${key} in the store`);
    await job.responded({ totalBytes: body.length, finalUrl: job.url.href });
    await pipeline(Readable.from([body]), job.sink, { signal: job.signal });
  }
}

// A registry of your own: the custom scheme, plus Nectar's backends loaded lazily when installed.
const registry = new DownloaderRegistry({ known: knownBackends });
registry.register('mem', (config, listener) => new MemoryDownloader(config, listener));

const dir = await mkdtemp(join(tmpdir(), 'nectar-mem-'));
const downloader = registry.create(new DownloaderConfig(), {
  downloadFailed: (r) => console.log(`failed ${r.url}: ${r.errorReport.code} ${r.errorReport.message}`),
});
const reports = await downloader.download([
  new DownloadRequest('mem://notes/hello.txt', join(dir, 'hello.txt')),
  new DownloadRequest('mem://notes/numbers.csv', join(dir, 'numbers.csv')),
  new DownloadRequest('mem://notes/absent.txt', join(dir, 'absent.txt')),
  new DownloadRequest('gopher://example.org/1', join(dir, 'gopher.txt')), // nobody serves gopher:
]);
for (const r of reports) console.log(`${r.state.padEnd(9)} ${r.url} (${r.bytesDownloaded} bytes)`);
console.log(`hello.txt says: ${(await readFile(join(dir, 'hello.txt'), 'utf8')).trim()}`);
await downloader.close();
await rm(dir, { recursive: true }); // an example cleans up; keep the folder to look at it
