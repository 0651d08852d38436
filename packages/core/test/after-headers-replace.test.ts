import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, ComposedDownloader, DownloadRequest, supportsAll } from '../src/backend.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-after-headers-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A backend that answers, then lets `during()` run before it writes the body. */
function pausing(during: () => Promise<void>): Backend {
  return {
    name: 'pausing',
    schemes: ['test'],
    supports: { ...supportsAll(false), afterHeaders: true },
    async transfer(job) {
      await job.responded({ totalBytes: 4, headers: { 'content-disposition': 'attachment; filename="named.txt"' } });
      await during();
      job.body.write([Buffer.from('body')], 4);
    },
  };
}

describe('config.afterHeaders { destination, replace: false }', () => {
  it('never replaces a file that appears at the chosen name during the download', async () => {
    const named = join(folder, 'named.txt');
    const downloader = new ComposedDownloader(pausing(() => writeFile(named, 'mine')), {
      retries: 0,
      afterHeaders: () => ({ destination: named, replace: false }),
    });
    const [report] = await downloader.download([new DownloadRequest('test://h/file', join(folder, 'file'))]);
    await downloader.close();
    expect(report?.state).toBe('failed');
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_DESTINATION', reason: 'exists' });
    expect(await readFile(named, 'utf8')).toBe('mine');
    expect(await readdir(folder)).toEqual(['named.txt']);
  });

  it('takes the name when nothing is there, and replaces by default', async () => {
    const named = join(folder, 'named.txt');
    const keep = new ComposedDownloader(pausing(async () => {}), { retries: 0, afterHeaders: () => ({ destination: named, replace: false }) });
    const [first] = await keep.download([new DownloadRequest('test://h/a', join(folder, 'a'))]);
    await keep.close();
    expect(first?.state).toBe('succeeded');
    expect(await readFile(named, 'utf8')).toBe('body');
    await writeFile(named, 'old');
    const replace = new ComposedDownloader(pausing(async () => {}), { retries: 0, afterHeaders: () => ({ destination: named }) });
    const [second] = await replace.download([new DownloadRequest('test://h/b', join(folder, 'b'))]);
    await replace.close();
    expect(second?.state).toBe('succeeded');
    expect(await readFile(named, 'utf8')).toBe('body');
    expect(await readdir(folder)).toEqual(['named.txt']);
  });
});
