import { randomBytes } from 'node:crypto';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Downloader, DownloaderConfig, DownloaderRegistry, DownloadRequest, defaultRegistry } from '@nectar/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDownloader, register } from '../src/index.js';

let folder: string;
let source: string;
const body = randomBytes(100_000);

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-file-'));
  source = join(folder, 'source.bin');
  await writeFile(source, body);
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function fetchOne(config: Record<string, unknown>, url: string, dest = join(folder, 'out')) {
  const downloader = new FileDownloader(new DownloaderConfig({ retries: 0, ...config }));
  try {
    const [report] = await downloader.download([new DownloadRequest(url, dest)]);
    return report!;
  } finally {
    await downloader.close();
  }
}

describe('FileDownloader', () => {
  it('makes the destination a hard link or a symbolic link when asked', async () => {
    const hard = await fetchOne({ fileMode: 'hardlink' }, pathToFileURL(source).href, join(folder, 'hard'));
    const soft = await fetchOne({ fileMode: 'symlink' }, pathToFileURL(source).href, join(folder, 'soft'));
    expect([hard.state, soft.state]).toEqual(['succeeded', 'succeeded']);
    expect((await stat(join(folder, 'hard'))).ino).toBe((await stat(source)).ino);
    expect((await lstat(join(folder, 'soft'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(folder, 'soft'))).toBe(source);
    expect(await readFile(join(folder, 'soft'))).toEqual(body);
    expect(hard.bytesDownloaded).toBe(body.length);
  });

  it.each(['hardlink', 'symlink'] as const)('checks the digest of a %s against the linked file, with and without fsync', async (fileMode) => {
    const { createHash } = await import('node:crypto');
    const digest = createHash('sha256').update(body).digest('hex');
    const url = pathToFileURL(source).href;
    for (const fsync of [false, true]) {
      // fileMode is this backend's own field, beyond core's typed config.
      const config: Record<string, unknown> = { fileMode, fsync };
      const downloader = new FileDownloader(new DownloaderConfig({ retries: 0, ...config }));
      const [good, bad] = await downloader.download([
        new DownloadRequest(url, join(folder, `good-${fsync}`), { expectedDigest: { algorithm: 'sha256', value: digest } }),
        new DownloadRequest(url, join(folder, `bad-${fsync}`), { expectedDigest: { algorithm: 'sha256', value: '0'.repeat(64) } }),
      ]);
      await downloader.close();
      // Before: the digest was taken of the empty part file the link replaced, and every link failed.
      expect(good?.state, good?.errorReport.message).toBe('succeeded');
      expect(bad?.errorReport).toMatchObject({ code: 'NECTAR_DIGEST_MISMATCH', actual: digest });
      expect(await readFile(join(folder, `good-${fsync}`))).toEqual(body);
    }
    // A refused link goes, and the source it pointed at stays whole.
    expect((await readdir(folder)).filter((name) => name.startsWith('bad') || name.includes('nectar-part'))).toEqual([]);
    expect(await readFile(source)).toEqual(body);
  });

  it('copies large files through the sink and small ones with copyFile, byte for byte', async () => {
    const large = join(folder, 'large.bin');
    const largeBody = randomBytes(40 * 1024 * 1024);
    await writeFile(large, largeBody);
    const reports = await Promise.all([fetchOne({}, pathToFileURL(large).href, join(folder, 'l')), fetchOne({}, pathToFileURL(source).href, join(folder, 's'))]);
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    // toEqual walks a Buffer element by element: far too slow for megabytes.
    expect((await readFile(join(folder, 'l'))).equals(largeBody)).toBe(true);
    expect(await readFile(join(folder, 's'))).toEqual(body);
  });

  it('fails a directory, an unreadable file and another host with a clear errorReport', async () => {
    await mkdir(join(folder, 'dir'));
    const secret = join(folder, 'secret');
    await writeFile(secret, 'x');
    await chmod(secret, 0o000);
    const dir = await fetchOne({}, pathToFileURL(join(folder, 'dir')).href, join(folder, 'a'));
    const remote = await fetchOne({}, 'file://elsewhere.example/etc/hosts', join(folder, 'c'));
    expect(dir.errorReport).toMatchObject({ code: 'NECTAR_NOT_FOUND' });
    expect(String(dir.errorReport.message)).toContain('is a directory');
    expect(remote.errorReport.message).toMatch(/only local files/);
    // root reads anything, so the permission case only means something for other users.
    if (process.getuid?.() !== 0) {
      const denied = await fetchOne({}, pathToFileURL(secret).href, join(folder, 'b'));
      expect(denied.errorReport).toMatchObject({ code: 'NECTAR_PERMISSION' });
    }
  });

  // The source is a plain descriptor, which no GC closes: every path out of a transfer must.
  // Linux only, like the package's other /proc cases: elsewhere it fails rather than skips.
  it('closes every source it opens, on success and on each kind of failure', async () => {
    const openFds = async () => (await readdir('/proc/self/fd')).length;
    const before = await openFds();
    const downloader = new FileDownloader(new DownloaderConfig({ retries: 0, maxConcurrent: 4 }));
    const sources = [source, source, '/proc/self/status', '/proc/self/mem', join(folder, 'missing')];
    const requests = sources.map((from, i) => new DownloadRequest(pathToFileURL(from).href, join(folder, `fd-${i}`)));
    // A destination that is the source itself is refused after the source is open.
    requests.push(new DownloadRequest(pathToFileURL(source).href, source));
    const reports = await downloader.download(requests);
    await downloader.close();
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded', 'succeeded', 'failed', 'failed', 'failed']);
    expect(await openFds()).toBe(before);
  });

  it('rejects an unknown fileMode at construction', () => {
    expect(() => new FileDownloader(new DownloaderConfig({ extra: { fileMode: 'reflink' } }))).toThrow(/config\.fileMode must be/);
  });

  it('is what the default registry loads for file: URLs', async () => {
    const downloader = defaultRegistry.create(new DownloaderConfig());
    const [report] = await downloader.download([new DownloadRequest(pathToFileURL(source).href, join(folder, 'via-registry'))]);
    await downloader.close();
    expect(report?.state).toBe('succeeded');
    expect(await readFile(join(folder, 'via-registry'))).toEqual(body);
  });

  /** One download of the source through a registry that only this package registered into. */
  async function viaOwnRegistry(config: Record<string, unknown>, name: string) {
    const registry = new DownloaderRegistry();
    register(registry);
    expect((await registry.resolve('file'))(new DownloaderConfig())).not.toBeInstanceOf(Downloader);
    const downloader = registry.create(new DownloaderConfig({ retries: 0, ...config }));
    const [report] = await downloader.download([new DownloadRequest(pathToFileURL(source).href, join(folder, name))]);
    await downloader.close();
    return report;
  }

  it('registers a backend object that takes fileMode from the registry downloader', async () => {
    const report = await viaOwnRegistry({ fileMode: 'symlink' }, 'linked');
    expect(report?.state).toBe('succeeded');
    expect(await readlink(join(folder, 'linked'))).toBe(source);
  });

  it('fails the request, not the process, for a registry config with an unknown fileMode', async () => {
    const report = await viaOwnRegistry({ fileMode: 'reflink' }, 'never');
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_INVALID_CONFIG' });
  });
});
