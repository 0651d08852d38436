import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ComposedDownloader, type DownloadReport, DownloadRequest } from '@nectar/core/backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FileBackendOptions, fileBackend } from '../src/index.js';

let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-file-threads-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

async function copyAll(options: FileBackendOptions, config: Record<string, unknown>, requests: DownloadRequest[]) {
  const backend = fileBackend(options);
  const downloader = new ComposedDownloader(backend, { retries: 0, ...config });
  try {
    const reports = await downloader.download(requests);
    return { reports, workers: backend.workerPool?.workers.length ?? 0 };
  } finally {
    await downloader.close();
  }
}

const states = (reports: DownloadReport[]) => reports.map((r) => (r.state === 'succeeded' ? r.state : JSON.stringify(r.errorReport)));

describe('core executor: file copies in worker threads', () => {
  it('copies every file byte for byte in the workers, with digests checked', async () => {
    const bodies = Array.from({ length: 6 }, (_, i) => randomBytes(300_000 + i));
    const requests = await Promise.all(
      bodies.map(async (body, i) => {
        const source = join(folder, `src-${i}`);
        await writeFile(source, body);
        const expectedDigest = { algorithm: 'sha256', value: createHash('sha256').update(body).digest('hex') };
        return new DownloadRequest(pathToFileURL(source).href, join(folder, `out-${i}`), { expectedDigest });
      }),
    );
    const { reports, workers } = await copyAll({ threads: 2 }, { maxConcurrent: 4 }, requests);
    expect(states(reports)).toEqual(bodies.map(() => 'succeeded'));
    expect(workers).toBe(2);
    for (const [i, body] of bodies.entries()) expect((await readFile(join(folder, `out-${i}`))).equals(body)).toBe(true);
  });

  it('makes a hard link from a worker, checked after the rename like in-process', async () => {
    const source = join(folder, 'src');
    await writeFile(source, randomBytes(1000));
    const { reports, workers } = await copyAll({ threads: 1, fileMode: 'hardlink' }, {}, [new DownloadRequest(pathToFileURL(source).href, join(folder, 'hard'))]);
    expect(states(reports)).toEqual(['succeeded']);
    expect(workers).toBe(1);
    expect((await stat(join(folder, 'hard'))).ino).toBe((await stat(source)).ino);
  });

  it('holds a request to its own maxSpeed in a worker, leaving the copy beside it free', async () => {
    const size = 1536 * 1024;
    const maxSpeed = 1024 * 1024;
    const urls = await Promise.all(['slow', 'fast', 'start-1', 'start-2'].map(async (name) => {
      await writeFile(join(folder, name), randomBytes(name.startsWith('start') ? 10 : size));
      return pathToFileURL(join(folder, name)).href;
    }));
    const backend = fileBackend({ threads: 2 });
    const downloader = new ComposedDownloader(backend, { retries: 0, maxConcurrent: 4 });
    const timed = async (request: DownloadRequest) => {
      const started = performance.now();
      const [report] = await downloader.download([request]);
      return { state: report?.state, seconds: (performance.now() - started) / 1000 };
    };
    try {
      // Both workers start first: their start-up is no part of the rate.
      await downloader.download(urls.slice(2).map((url, i) => new DownloadRequest(url, join(folder, `started-${i}`))));
      const [slow, fast] = await Promise.all([timed(new DownloadRequest(urls[0] as string, join(folder, 'slow-out'), { maxSpeed })), timed(new DownloadRequest(urls[1] as string, join(folder, 'fast-out')))]);
      expect(backend.workerPool?.workers).toHaveLength(2);
      expect([slow.state, fast.state]).toEqual(['succeeded', 'succeeded']);
      expect(slow.seconds).toBeGreaterThan((size / maxSpeed) * 0.9);
      expect(slow.seconds).toBeLessThan((size / maxSpeed) * 1.1);
      expect(fast.seconds).toBeLessThan(0.5);
    } finally {
      await downloader.close();
    }
  });

  it('fails a missing source from a worker with the same coded error as in-process', async () => {
    const url = pathToFileURL(join(folder, 'missing')).href;
    const threaded = await copyAll({ threads: 1 }, {}, [new DownloadRequest(url, join(folder, 'a'))]);
    const inProcess = await copyAll({ threads: 0 }, {}, [new DownloadRequest(url, join(folder, 'b'))]);
    expect(threaded.reports[0]?.errorReport.code).toBe(inProcess.reports[0]?.errorReport.code);
    expect(threaded.reports[0]?.errorReport.code).toMatch(/^NECTAR_/);
  });
});

describe('core segments over file: URLs (the ranges capability)', () => {
  // Two segments of at least 1 MiB each (config.minSegmentSize's floor).
  const body = randomBytes(2 * 1024 * 1024 + 5);
  const value = createHash('sha256').update(body).digest('hex');

  it.each([0, 2])('splits a large file into ranges with threads: %i, whole and verified', async (threads) => {
    const source = join(folder, 'large');
    await writeFile(source, body);
    const request = new DownloadRequest(pathToFileURL(source).href, join(folder, 'large-out'), { expectedDigest: { algorithm: 'sha256', value } });
    const { reports } = await copyAll({ threads }, { segments: 2, minSegmentSize: 1024 * 1024 }, [request]);
    expect(states(reports)).toEqual(['succeeded']);
    expect(reports[0]?.bytesDownloaded).toBe(body.length);
    expect((await readFile(join(folder, 'large-out'))).equals(body)).toBe(true);
  });

  it.each([0, 2])('links a large file whole with segments (threads: %i): a link is never split', async (threads) => {
    const source = join(folder, 'large');
    await writeFile(source, body);
    const { reports } = await copyAll({ threads, fileMode: 'hardlink' }, { segments: 2, minSegmentSize: 1024 * 1024 }, [new DownloadRequest(pathToFileURL(source).href, join(folder, 'linked'))]);
    expect(states(reports)).toEqual(['succeeded']);
    expect((await stat(join(folder, 'linked'))).ino).toBe((await stat(source)).ino);
  });
});

describe('a source written while it is copied', () => {
  const size = 4 * 1024 * 1024;

  /** Rewrites the source in place after `ms`, same size, other bytes: no new inode, the mtime moves. */
  function rewriteLater(source: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      setTimeout(async () => {
        const handle = await open(source, 'r+');
        await handle.write(Buffer.alloc(size, 'B'), 0, size, 0);
        await handle.close();
        resolve();
      }, ms);
    });
  }

  it.each([0, 2])('is never placed torn when its segments read two versions (threads: %i)', async (threads) => {
    const source = join(folder, 'changing');
    await writeFile(source, Buffer.alloc(size, 'A'));
    const rewritten = rewriteLater(source, 400);
    const config = { segments: 4, minSegmentSize: 1024 * 1024, maxSpeed: 4 * 1024 * 1024, retries: 2, retryDelay: 10 };
    const { reports } = await copyAll({ threads }, config, [new DownloadRequest(pathToFileURL(source).href, join(folder, 'copy'))]);
    await rewritten;
    // Either the version the source holds now, whole (a retry), or a failure: never A's then B's.
    if (reports[0]?.state === 'succeeded') expect((await readFile(join(folder, 'copy'))).equals(Buffer.alloc(size, 'B'))).toBe(true);
    else expect(reports[0]?.errorReport.reason).toBe('source-changed');
  });

  it('does not resume a kept part onto the same file rewritten with its mtime set back (cp -p, rsync -t)', async () => {
    const source = join(folder, 'kept');
    await writeFile(source, Buffer.alloc(size, 'A'));
    const { mtimeNs } = await stat(source, { bigint: true });
    const request = () => new DownloadRequest(pathToFileURL(source).href, join(folder, 'kept-copy'));
    const first = new ComposedDownloader(fileBackend({}), { retries: 0, keepPartial: true, maxSpeed: 2 * 1024 * 1024 });
    setTimeout(() => first.cancel(), 600);
    expect((await first.download([request()]))[0]?.state).toBe('canceled');
    await first.close();
    const handle = await open(source, 'r+');
    await handle.write(Buffer.alloc(size, 'B'), 0, size, 0);
    await handle.close();
    // Set back to the nanosecond, as `touch -r` does (utimes() with a Date keeps milliseconds only).
    const stamp = `@${mtimeNs / 1_000_000_000n}.${String(mtimeNs % 1_000_000_000n).padStart(9, '0')}`;
    expect(spawnSync('touch', ['-m', '-d', stamp, source]).status).toBe(0);
    expect((await stat(source, { bigint: true })).mtimeNs).toBe(mtimeNs);
    const { reports } = await copyAll({}, { keepPartial: true }, [request()]);
    expect(reports[0]?.outcome).toBe('downloaded');
    expect((await readFile(join(folder, 'kept-copy'))).equals(Buffer.alloc(size, 'B'))).toBe(true);
  });
});
