import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloaderConfig, DownloaderRegistry, DownloadRequest, defaultRegistry, supportsAll } from '../src/backend.js';
import { DiskDownloader, diskUrl } from './support.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-registry-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe('DownloaderRegistry', () => {
  it('routes each request by scheme, and fails an unknown scheme naming it', async () => {
    const body = randomBytes(300);
    await writeFile(join(folder, 'src'), body);
    const registry = new DownloaderRegistry().register('disk', (config, listener) => new DiskDownloader(config, listener));
    const downloader = registry.create();
    const reports = await downloader.download([
      new DownloadRequest(diskUrl(join(folder, 'src')), join(folder, 'a')),
      new DownloadRequest('weird://host/x', join(folder, 'b')),
    ]);
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'failed']);
    expect(reports[1]?.errorReport).toMatchObject({ code: 'NECTAR_UNSUPPORTED_SCHEME' });
    expect(String(reports[1]?.errorReport.message)).toMatch(/weird:.*registry\.register/);
    expect(await readFile(join(folder, 'a'))).toEqual(body);
    await downloader.close();
  });

  it('names the package to install for a known scheme whose backend is missing', async () => {
    const registry = new DownloaderRegistry({ known: { sftp: ['@nectar/not-installed-for-sure'] } });
    const downloader = registry.create();
    const [report] = await downloader.download([new DownloadRequest('sftp://host/file', join(folder, 'x'))]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport.message).toBe('no downloader serves sftp: URLs; install @nectar/not-installed-for-sure (npm install @nectar/not-installed-for-sure)');
    await downloader.close();
  });

  it('the default registry knows our backends by package name', () => {
    expect(defaultRegistry.schemes).toEqual(expect.arrayContaining(['http', 'https', 'file', 'sftp']));
  });

  it('loads a backend package lazily on first use through its register() export', async () => {
    await writeFile(join(folder, 'src'), 'lazy bytes');
    const support = pathToFileURL(join(import.meta.dirname, 'support.ts')).href;
    const modulePath = join(folder, 'lazy-backend.mjs');
    let loads = 0;
    const registry = new DownloaderRegistry({
      known: { disk: [modulePath] },
      load: async (specifier) => {
        loads++;
        const { DiskDownloader: Disk } = (await import(support)) as typeof import('./support.js');
        expect(specifier).toBe(modulePath);
        return { register: (r: DownloaderRegistry) => r.register('disk', (c, l) => new Disk(c, l)) };
      },
    });
    const downloader = registry.create();
    expect(loads).toBe(0);
    const reports = await downloader.download([1, 2].map((i) => new DownloadRequest(diskUrl(join(folder, 'src')), join(folder, `out${i}`))));
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    expect(loads).toBe(1);
    await downloader.close();
  });

  it('shares one concurrency bound across every backend it routes to', async () => {
    await writeFile(join(folder, 'src'), randomBytes(200_000));
    let open = 0;
    let peak = 0;
    const registry = new DownloaderRegistry().register(['disk', 'disk2'], (c, l) => new DiskDownloader(c, l));
    const downloader = registry.create(new DownloaderConfig({ maxConcurrent: 2, maxSpeed: 4_000_000 }), {
      downloadStarted: () => {
        open++;
        peak = Math.max(peak, open);
      },
      downloadSucceeded: () => {
        open--;
      },
    });
    const requests = Array.from({ length: 6 }, (_, i) => new DownloadRequest(`${i % 2 ? 'disk' : 'disk2'}://${join(folder, 'src')}`, join(folder, `o${i}`)));
    const reports = await downloader.download(requests);
    expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
    expect(peak).toBe(2);
    await downloader.close();
  });

  it('checks each request against the capabilities of the backend serving its scheme', async () => {
    const registry = new DownloaderRegistry().register('disk', (c, l) => new DiskDownloader(c, l));
    const downloader = registry.create(new DownloaderConfig({ proxyUrl: 'http://127.0.0.1', proxyPort: 9 }));
    const [report] = await downloader.download([new DownloadRequest(diskUrl(join(folder, 'src')), join(folder, 'x'))]);
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', field: 'config.proxyUrl' });
    await downloader.close();
  });

  it('rejects bad schemes and factories at registration', () => {
    const registry = new DownloaderRegistry();
    expect(() => registry.register('not a scheme', () => new DiskDownloader())).toThrow(/scheme/);
    expect(() => registry.register('ok', 'factory' as never)).toThrow(/factory/);
  });

  it('ignores a field that does not apply to a scheme, and still refuses one the backend could honour', async () => {
    const body = randomBytes(100);
    await writeFile(join(folder, 'src'), body);
    // A file:// backend that honours nothing beyond the basics, in a run configured for https.
    class PlainFiles extends DiskDownloader {
      override readonly supports = { ...supportsAll(false), maxSpeed: true };
    }
    const registry = new DownloaderRegistry().register('file', (config, listener) => new PlainFiles(config, listener));
    // keepPartial applies to file:// (resume), so a backend without it refuses it.
    const resuming = registry.create(new DownloaderConfig({ sslValidation: false, headers: { 'x-token': 'abc' }, keepPartial: true }));
    const [refused] = await resuming.download([new DownloadRequest(`file://${join(folder, 'src')}`, join(folder, 'a'))]);
    await resuming.close();
    expect(refused?.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', field: 'config.keepPartial' });
    // TLS, headers and basic auth mean nothing for file://: ignored, not refused.
    const plain = registry.create(new DownloaderConfig({ sslValidation: false, headers: { 'x-token': 'abc' }, basicAuthUsername: 'u' }));
    const [report] = await plain.download([new DownloadRequest(`file://${join(folder, 'src')}`, join(folder, 'c'))]);
    await plain.close();
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(await readFile(join(folder, 'c'))).toEqual(body);
  });

  it('treats a loader that throws synchronously for a missing package like one that rejects', async () => {
    const load = () => {
      throw Object.assign(new Error('Cannot find package @example/x'), { code: 'ERR_MODULE_NOT_FOUND' });
    };
    const registry = new DownloaderRegistry({ known: { x: ['@example/x'] }, load });
    const downloader = registry.create();
    const [report] = await downloader.download([new DownloadRequest('x://h/a', join(folder, 'a'))]);
    await downloader.close();
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_UNSUPPORTED_SCHEME' });
    expect(String(report?.errorReport.message)).toMatch(/install @example\/x/);
  });
});
