import { DownloaderConfig, DownloaderRegistry, DownloadRequest, Downloader } from '@nectar/core';
import { type BackendEnv, ComposedDownloader, ConcurrencyLimit, type TransferJob, withDefaults } from '@nectar/core/backend';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { register, type UndiciConfigOptions, undiciBackend } from '../src/index.js';
import { randomBytes, type Scratch, scratch } from './helpers.js';

const server: HttpFixture = httpFixture();
const composed: ComposedDownloader[] = [];
let tmp: Scratch;

beforeAll(async () => {
  await server.start();
  tmp = await scratch();
});
afterAll(async () => {
  await server.stop();
  await tmp.remove();
});
afterEach(async () => {
  await Promise.all(composed.splice(0).map((d) => d.close()));
});

function compose(backend: ReturnType<typeof undiciBackend>, config: UndiciConfigOptions = {}): ComposedDownloader {
  const downloader = new ComposedDownloader(backend, new DownloaderConfig({ retries: 0, ...config }));
  composed.push(downloader);
  return downloader;
}

/** The env an engine opens a backend with, for tests that drive the object by hand. */
function env(): BackendEnv {
  return { settings: withDefaults(new DownloaderConfig<UndiciConfigOptions>({ threads: 0 })), tls: {} as BackendEnv['tls'], proxy: null, limits: { concurrency: new ConcurrencyLimit(1), speed: null } };
}

describe('undiciBackend()', () => {
  it('is a plain backend object for http and https', () => {
    const backend = undiciBackend();
    expect(backend.name).toBe('undici');
    expect(backend.schemes).toEqual(['http', 'https']);
    expect(Object.values(backend.supports).every(Boolean)).toBe(true);
    expect(backend.workerPool).toBeUndefined();
  });

  it('downloads in-process when composed with threads: 0', async () => {
    const body = randomBytes(5000);
    const url = await server.publish('composed.bin', body);
    const backend = undiciBackend();
    const [report] = await compose(backend, { threads: 0 }).download([new DownloadRequest(url, tmp.path('composed.bin'))]);
    expect(report?.state).toBe('succeeded');
    expect(backend.workerPool).toBeUndefined();
  });

  it('takes threads from its options over the config, building the pool once in open()', async () => {
    const url = await server.publish('pooled.bin', randomBytes(5000));
    const backend = undiciBackend({ threads: 1 });
    const downloader = compose(backend, { threads: 0 });
    const reports = await downloader.download(['a', 'b'].map((n) => new DownloadRequest(url, tmp.path(`pooled-${n}.bin`))));
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    const pool = backend.workerPool;
    expect(pool?.workers).toHaveLength(1);
    await downloader.download([new DownloadRequest(url, tmp.path('pooled-c.bin'))]);
    expect(backend.workerPool).toBe(pool);
    await downloader.close();
    expect(backend.workerPool).toBeUndefined();
  });

  it('refuses a transfer before open() and a second open()', async () => {
    const backend = undiciBackend();
    await expect(backend.transfer({} as TransferJob)).rejects.toMatchObject({ code: 'NECTAR_BACKEND' });
    await backend.open?.(env());
    await expect(Promise.resolve().then(() => backend.open?.(env()))).rejects.toThrow(/one downloader/);
    await backend.close?.();
    await expect(backend.transfer({} as TransferJob)).rejects.toMatchObject({ code: 'NECTAR_CLOSED' });
  });

  it('fails the requests, naming the field, when its threads option is invalid', async () => {
    const url = await server.publish('bad.bin', randomBytes(10));
    const [report] = await compose(undiciBackend({ threads: -1 })).download([new DownloadRequest(url, tmp.path('bad.bin'))]);
    expect(report?.state).toBe('failed');
    expect(report?.errorReport.message).toMatch(/config\.threads/);
  });
});

describe('register()', () => {
  it('registers a factory that makes the backend object, not a downloader', async () => {
    const registry = new DownloaderRegistry();
    register(registry);
    const factory = await registry.resolve('https');
    const product = factory(new DownloaderConfig());
    expect(product).not.toBeInstanceOf(Downloader);
    expect(product).toMatchObject({ name: 'undici', schemes: ['http', 'https'] });
  });
});
