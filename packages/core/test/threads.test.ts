import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Backend, ComposedDownloader, DownloadRequest, supportsAll } from '../src/backend.js';
import { type WorkerBackend, WorkerPool } from '../src/threads.js';

const fixture = pathToFileURL(join(import.meta.dirname, 'fixtures', 'echo-backend.mjs')).href;
const body = 'x'.repeat(300_000);
let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-threads-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** A backend whose every transfer runs in core's worker pool, over the worker-side `spec`. */
function threaded(spec: WorkerBackend): Backend & { pool: WorkerPool | null } {
  const view = {
    name: 'echo',
    schemes: ['echo'],
    supports: { ...supportsAll(false), maxSpeed: true, streamDestination: true },
    pool: null as WorkerPool | null,
    open(env: Parameters<NonNullable<Backend['open']>>[0]) {
      view.pool = new WorkerPool(1, spec, env);
    },
    transfer: (job: Parameters<Backend['transfer']>[0]) => (view.pool as WorkerPool).run(job),
    close: async () => view.pool?.close(),
  };
  return view;
}

describe("core's executor (@nectar/core/threads)", () => {
  it('runs any backend module in a worker: the file, its digest and its progress arrive', async () => {
    const backend = threaded({ module: fixture, export: 'echoBackend', options: { body } });
    const progress: number[] = [];
    const downloader = new ComposedDownloader(backend, { retries: 0, progressInterval: 0 }, { downloadProgress: (r) => progress.push(r.bytesDownloaded) });
    const value = createHash('sha256').update(body).digest('hex');
    const [report] = await downloader.download([new DownloadRequest('echo://h/a?chunks=4', join(folder, 'a'), { expectedDigest: { algorithm: 'sha256', value } })]);
    expect(backend.pool?.workers).toHaveLength(1);
    await downloader.close();
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(await readFile(join(folder, 'a'), 'utf8')).toBe(body);
    expect(report?.bytesDownloaded).toBe(body.length);
    expect(progress.at(-1)).toBe(body.length);
    expect(backend.pool?.workers).toEqual([]);
  });

  it('fails a digest the worker computed as NECTAR_DIGEST_MISMATCH, leaving nothing', async () => {
    const downloader = new ComposedDownloader(threaded({ module: fixture, export: 'echoBackend', options: { body } }), { retries: 0 });
    const [report] = await downloader.download([new DownloadRequest('echo://h/b', join(folder, 'b'), { expectedDigest: { algorithm: 'sha256', value: '0'.repeat(64) } })]);
    await downloader.close();
    expect(report?.errorReport.code).toBe('NECTAR_DIGEST_MISMATCH');
    expect(report?.errorReport.actual).toBe(createHash('sha256').update(body).digest('hex'));
    expect(await readdir(folder)).toEqual([]);
  });

  it('sends a stream destination its bytes back from the worker, leaving the stream open', async () => {
    const downloader = new ComposedDownloader(threaded({ module: fixture, export: 'echoBackend', options: { body } }), { retries: 0 });
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [report] = await downloader.download([new DownloadRequest('echo://h/c?chunks=20', stream)]);
    await downloader.close();
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(Buffer.concat(chunks).toString()).toBe(body);
    expect(stream.writableEnded).toBe(false);
  });

  it('fails the transfers of a worker that cannot make its backend, naming why', async () => {
    const downloader = new ComposedDownloader(threaded({ module: fixture, export: 'noSuchBackend' }), { retries: 0 });
    const [report] = await downloader.download([new DownloadRequest('echo://h/d', join(folder, 'd'))]);
    await downloader.close();
    expect(report?.errorReport.code).toBe('NECTAR_BACKEND');
    expect(String(report?.errorReport.message)).toContain('has no function export noSuchBackend');
    expect(await readdir(folder)).toEqual([]);
  });
});
