import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, type BackendEnv, ComposedDownloader, DownloadRequest, DownloaderRegistry, type TransferJob, supportsAll } from '../src/backend.js';

let folder: string;
beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-engine-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A backend that serves `mem:` URLs from memory and records its lifecycle. */
function memoryBackend(log: string[]): Backend {
  let env: BackendEnv | undefined;
  return {
    name: 'memory',
    schemes: ['mem'],
    supports: supportsAll(false),
    open(given) {
      env = given;
      log.push(`open maxConcurrent=${given.settings.maxConcurrent}`);
    },
    async transfer(job) {
      if (env === undefined) throw new Error('transfer before open');
      const body = Buffer.from(job.url.pathname);
      await job.responded({ totalBytes: body.length });
      job.sink.end(body);
    },
    async close() {
      log.push('close');
    },
  };
}

describe('the engine composes a backend object', () => {
  it('opens it once with the downloader env, before the first transfer, and closes it once', async () => {
    const log: string[] = [];
    const downloader = new ComposedDownloader(memoryBackend(log), { maxConcurrent: 3 });
    const reports = await downloader.download([new DownloadRequest('mem:/a', join(folder, 'a')), new DownloadRequest('mem:/b', join(folder, 'b'))]);
    await downloader.close();
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    expect(await readFile(join(folder, 'b'), 'utf8')).toBe('/b');
    expect(log).toEqual(['open maxConcurrent=3', 'close']);
  });

  it("runs a subclass's transfer() override: the class may wrap its backend", async () => {
    const seen: string[] = [];
    class Wrapped extends ComposedDownloader {
      protected override transfer(job: TransferJob): Promise<void> {
        seen.push(job.url.href);
        return super.transfer(job);
      }
    }
    const downloader = new Wrapped(memoryBackend([]));
    const [report] = await downloader.download([new DownloadRequest('mem:/w', join(folder, 'w'))]);
    await downloader.close();
    expect(report?.state).toBe('succeeded');
    expect(seen).toEqual(['mem:/w']);
  });

  it('lets a registry run a factory that returns a backend object under its own limits', async () => {
    const log: string[] = [];
    const registry = new DownloaderRegistry().register('mem', () => memoryBackend(log));
    const downloader = registry.create();
    const [report] = await downloader.download([new DownloadRequest('mem:/r', join(folder, 'r'))]);
    await downloader.close();
    expect(report?.state).toBe('succeeded');
    expect(log).toEqual(['open maxConcurrent=8', 'close']);
  });
});

describe('a part file a backend replaced', () => {
  /** `ln:` links the part file to the bad file (as file:// does in its link modes); `mem:` writes its path's bytes. */
  function linkingBackend(bad: string): Backend {
    return {
      name: 'linking',
      schemes: ['ln', 'mem'],
      supports: supportsAll(false),
      async transfer(job) {
        if (job.url.protocol === 'mem:') {
          const body = Buffer.from(job.url.pathname.slice(1));
          await job.responded({ totalBytes: body.length });
          job.sink.end(body);
          return;
        }
        const { link, lstat, unlink } = await import('node:fs/promises');
        if (job.tempPath === null) throw new Error('needs a path');
        await unlink(job.tempPath);
        await link(bad, job.tempPath);
        job.partReplaced(await lstat(job.tempPath));
        job.progressed((await lstat(bad)).size);
      },
    };
  }

  it('is a file of our own again for a mirror that writes bytes: the digest checks what is placed', async () => {
    const { createHash } = await import('node:crypto');
    const { lstat, writeFile } = await import('node:fs/promises');
    const bad = join(folder, 'bad.bin');
    await writeFile(bad, 'EVIL');
    const good = 'GOOD';
    const downloader = new ComposedDownloader(linkingBackend(bad), { retries: 0 });
    const destination = join(folder, 'out');
    const [report] = await downloader.download([
      new DownloadRequest('ln:/bad', destination, { mirrors: [`mem:/${good}`], expectedDigest: { algorithm: 'sha256', value: createHash('sha256').update(good).digest('hex') } }),
    ]);
    await downloader.close();
    // Before: the mirror's bytes went to the descriptor the link orphaned (and passed the digest),
    // while the link to the bad file was placed: 'succeeded' over EVIL.
    expect(report?.state).toBe('succeeded');
    expect(await readFile(destination, 'utf8')).toBe(good);
    expect((await lstat(destination)).ino).not.toBe((await lstat(bad)).ino);
    expect(await readFile(bad, 'utf8')).toBe('EVIL');
  });
});
