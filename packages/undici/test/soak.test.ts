import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { DownloaderConfig, DownloadRequest } from '@nectar/core';
import { type HttpFixture, httpFixture, type TcpRelay, tcpRelay } from '@nectar/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UndiciDownloader } from '../src/index.js';
import { randomBytes, type Scratch, scratch } from './helpers.js';

const DOWNLOADS = 5_000;

/** Without a full collection first, heapUsed mostly shows when V8 last felt like collecting. */
function heapAfterCollection(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}
const SOURCES = 100;

/**
 * 5,000 downloads through a relay that resets ~5% of connections at random points (mid-headers,
 * mid-body). With retries on, every file must end byte-identical or cleanly failed, nothing
 * partial may stay on disk, and memory and open handles must stay flat.
 */
describe('soak: 5,000 downloads through a flaky relay', () => {
  let origin: HttpFixture;
  let relay: TcpRelay;
  let folder: Scratch;
  const digests = new Map<string, string>();

  beforeAll(async () => {
    origin = httpFixture();
    await origin.start();
    for (let i = 0; i < SOURCES; i++) {
      const body = randomBytes(8_192 + i * 97).map((b) => b ^ i);
      await origin.publish(`s${i}.bin`, body);
      digests.set(`s${i}.bin`, createHash('sha256').update(body).digest('hex'));
    }
    relay = tcpRelay({ target: { host: '127.0.0.1', port: origin.port }, faultRate: 0.05, seed: 7, maxBytesBeforeFault: 12_000 });
    await relay.start();
    folder = await scratch();
  });

  afterAll(async () => {
    await relay?.stop();
    await origin?.stop();
    await folder?.remove();
  });

  it('ends every file whole or cleanly failed, with flat memory and handles', async () => {
    const handlesBefore = process.getActiveResourcesInfo().length;
    // A connection per request, so that the relay's per-connection faults hit ~5% of requests.
    const downloader = new UndiciDownloader(
      new DownloaderConfig({ maxConcurrent: 16, retries: 5, retryDelay: 1, retryMaxDelay: 20, headers: { connection: 'close' } }),
    );
    function* requests() {
      for (let i = 0; i < DOWNLOADS; i++) {
        const name = `s${i % SOURCES}.bin`;
        yield new DownloadRequest(relay.url(`/files/${name}`), folder.path(`d${i}`), { data: name });
      }
    }
    const started = performance.now();
    const heap: number[] = [];
    const failures: string[] = [];
    let succeeded = 0;
    let retried = 0;
    let settled = 0;
    for await (const report of downloader.stream(requests())) {
      if (++settled % 1000 === 0) {
        // The origin records every request it served; forget them so the heap shows the client's.
        origin.reset();
        heap.push(heapAfterCollection());
      }
      if (report.attempts > 1) retried++;
      if (report.state === 'succeeded') {
        const bytes = await readFile(report.destination as string);
        expect(createHash('sha256').update(bytes).digest('hex')).toBe(digests.get(report.data as string));
        succeeded++;
      } else {
        expect(report.state).toBe('failed');
        expect(report.errorReport.code).toMatch(/^NECTAR_/);
        failures.push(String(report.errorReport.code));
      }
    }
    await downloader.close();
    const seconds = (performance.now() - started) / 1000;
    const leftovers = (await readdir(folder.dir)).filter((f) => f.includes('nectar-part'));
    const heapGrowthMiB = (heap.at(-1)! - heap[0]!) / 2 ** 20;
    console.log(
      `soak: ${DOWNLOADS} downloads in ${seconds.toFixed(1)} s (${(DOWNLOADS / seconds).toFixed(0)}/s), ` +
        `${relay.stats.faults} faults injected over ${relay.stats.connections} connections, ${retried} requests retried, ` +
        `${succeeded} succeeded, ${failures.length} failed, heap per 1000: ${heap.map((h) => (h / 2 ** 20).toFixed(1)).join(' ')} MiB`,
    );
    expect(settled).toBe(DOWNLOADS);
    expect(relay.stats.faults).toBeGreaterThan(DOWNLOADS * 0.03);
    expect(retried).toBeGreaterThan(0);
    expect(succeeded + failures.length).toBe(DOWNLOADS);
    // With 5 retries at a 5% fault rate a failure is a one-in-millions event; none is expected.
    expect(failures).toEqual([]);
    expect(leftovers).toEqual([]);
    expect(heapGrowthMiB).toBeLessThan(4);
    await new Promise((r) => setTimeout(r, 50));
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(handlesBefore);
  }, 120_000);
});
