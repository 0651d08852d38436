import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DownloaderConfig, DownloadRequest } from '../src/index.js';
import { DiskDownloader, diskUrl } from './support.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-core-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function source(size: number): Promise<{ path: string; body: Buffer }> {
  const body = randomBytes(size);
  const path = join(folder, `src-${size}-${Math.random()}`);
  await writeFile(path, body);
  return { path, body };
}

describe('retries', () => {
  it('retries a transient failure and reports one started and one terminal event', async () => {
    const { path, body } = await source(1000);
    const events: string[] = [];
    const downloader = new DiskDownloader(new DownloaderConfig({ retries: 2, retryDelay: 1 }), {
      downloadStarted: () => events.push('started'),
      downloadSucceeded: () => events.push('succeeded'),
      downloadFailed: () => events.push('failed'),
    });
    downloader.failures = 2;
    const [report] = await downloader.download([new DownloadRequest(diskUrl(path), join(folder, 'out'))]);
    expect(report?.state).toBe('succeeded');
    expect(report?.attempts).toBe(3);
    expect(events).toEqual(['started', 'succeeded']);
    expect(await readFile(join(folder, 'out'))).toEqual(body);
    await downloader.close();
  });

  it('gives up after config.retries and says how many attempts were made', async () => {
    const { path } = await source(10);
    const downloader = new DiskDownloader(new DownloaderConfig({ retries: 1, retryDelay: 1 }));
    downloader.failures = 5;
    const [report] = await downloader.download([new DownloadRequest(diskUrl(path), join(folder, 'out'))]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_NETWORK', attempts: 2 });
    await downloader.close();
  });
});

describe('integrity and mirrors', () => {
  it('verifies an expected digest and size, failing a mismatch with both values and no file', async () => {
    const { path, body } = await source(5000);
    const sha256 = createHash('sha256').update(body).digest('hex');
    const downloader = new DiskDownloader();
    const reports = await downloader.download([
      new DownloadRequest(diskUrl(path), join(folder, 'good'), { expectedDigest: { algorithm: 'sha256', value: sha256 }, expectedSize: 5000 }),
      new DownloadRequest(diskUrl(path), join(folder, 'bad'), { expectedDigest: { algorithm: 'sha256', value: '00'.repeat(32) } }),
      new DownloadRequest(diskUrl(path), join(folder, 'short'), { expectedSize: 4000 }),
    ]);
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'failed', 'failed']);
    expect(reports[1]?.errorReport).toMatchObject({ code: 'NECTAR_DIGEST_MISMATCH', expected: '00'.repeat(32), actual: sha256 });
    expect(reports[2]?.errorReport).toMatchObject({ code: 'NECTAR_SIZE_MISMATCH', expected: 4000, actual: 5000 });
    expect((await readdir(folder)).filter((f) => !f.startsWith('src-'))).toEqual(['good']);
    await downloader.close();
  });

  it('falls back to a mirror when the main URL fails for good, and records which served it', async () => {
    const { path, body } = await source(100);
    const downloader = new DiskDownloader();
    const mirror = diskUrl(path);
    const [report] = await downloader.download([new DownloadRequest(diskUrl(join(folder, 'missing')), join(folder, 'out'), { mirrors: [mirror] })]);
    expect(report?.state).toBe('succeeded');
    expect(report?.finalUrl).toBe(new URL(mirror).href);
    expect(await readFile(join(folder, 'out'))).toEqual(body);
    await downloader.close();
  });

  it('fails a body larger than maxFileSize', async () => {
    const { path } = await source(2000);
    const downloader = new DiskDownloader(new DownloaderConfig({ maxFileSize: 1000 }));
    const [report] = await downloader.download([new DownloadRequest(diskUrl(path), join(folder, 'big'))]);
    expect(report?.errorReport.code).toBe('NECTAR_MAX_FILE_SIZE');
    await downloader.close();
  });
});

describe('lifecycle of the instance', () => {
  it('close() releases the backend once and is idempotent; Symbol.asyncDispose closes too', async () => {
    const downloader = new DiskDownloader();
    await downloader.close();
    await downloader.close();
    expect(downloader.released).toBe(true);
    const other = new DiskDownloader();
    await other[Symbol.asyncDispose]();
    expect(other.released).toBe(true);
  });

  it('rejects a listener that is not an object', () => {
    expect(() => new DiskDownloader(new DownloaderConfig(), 'nope' as never)).toThrow(/listener must be an object/);
  });
});
