import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

// Core as users load it: the bundled dist/ (scripts/bundle.mjs), which `npm test` builds first.
const dist = (entry: string) => pathToFileURL(join(import.meta.dirname, '..', 'dist', entry)).href;
const fixture = pathToFileURL(join(import.meta.dirname, 'fixtures', 'echo-backend.mjs')).href;
let folder: string;

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-dist-'));
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

describe("core's built entries", () => {
  it('share one copy of every class: an error from one entry is an instance of the class another exports', async () => {
    const [main, backend, http] = await Promise.all([import(dist('index.js')), import(dist('backend.js')), import(dist('http.js'))]);
    expect(backend.NectarError).toBe(main.NectarError);
    expect(backend.DownloadRequest).toBe(main.DownloadRequest);
    const error = new backend.NectarError('NECTAR_BACKEND', 'from the backend entry');
    expect(error).toBeInstanceOf(main.NectarError);
    expect(main.isNectarError(error)).toBe(true);
    expect(typeof http.followRedirects).toBe('function');
  });

  it("start the worker pool's threads from dist/threads/worker.js, and a transfer runs there", async () => {
    const [{ ComposedDownloader, DownloadRequest, supportsAll }, { WorkerPool }] = await Promise.all([import(dist('backend.js')), import(dist('threads.js'))]);
    const body = 'y'.repeat(100_000);
    let pool: InstanceType<typeof WorkerPool> | null = null;
    const backend = {
      name: 'echo',
      schemes: ['echo'],
      supports: supportsAll(false),
      open(env: unknown) {
        pool = new WorkerPool(1, { module: fixture, export: 'echoBackend', options: { body } }, env);
      },
      transfer: (job: unknown) => (pool as InstanceType<typeof WorkerPool>).run(job),
      close: async () => pool?.close(),
    };
    const downloader = new ComposedDownloader(backend, { retries: 0 });
    const value = createHash('sha256').update(body).digest('hex');
    const [report] = await downloader.download([new DownloadRequest('echo://h/a', join(folder, 'a'), { expectedDigest: { algorithm: 'sha256', value } })]);
    await downloader.close();
    expect(report?.state, JSON.stringify(report?.errorReport)).toBe('succeeded');
    expect(await readFile(join(folder, 'a'), 'utf8')).toBe(body);
  });
});
