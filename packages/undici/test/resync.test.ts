import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { chmod, chown, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadRequest, type DownloaderConfigOptions, SqliteStateStore } from '@nectar/core';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UndiciDownloader } from '../src/index.js';

const fixture: HttpFixture = httpFixture();
let dir: string;

beforeAll(() => fixture.start());
afterAll(() => fixture.stop());
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nectar-resync-'));
  fixture.reset();
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const bodyOf = (i: number) => Buffer.from(`file ${i} `.repeat(20 + (i % 50)));

async function run(config: DownloaderConfigOptions, requests: DownloadRequest[]) {
  const downloader = new UndiciDownloader({ retries: 0, ...config });
  try {
    return await downloader.download(requests);
  } finally {
    await downloader.close();
  }
}

/** Inode and mtime of each file: what a rewrite (even of the same bytes) changes. */
async function identities(paths: string[]): Promise<string[]> {
  return Promise.all(paths.map(async (p) => {
    const s = await stat(p, { bigint: true });
    return `${s.ino}:${s.mtimeNs}`;
  }));
}

describe('re-syncs with a state store', () => {
  it('a second run of 500 unchanged files sends only conditional requests, gets 304s and rewrites no file', async () => {
    const urls = await Promise.all(Array.from({ length: 500 }, (_, i) => fixture.publish(`set/${i}.bin`, bodyOf(i))));
    const paths = urls.map((_, i) => join(dir, `${i}.bin`));
    const list = () => urls.map((url, i) => new DownloadRequest(url, paths[i]!));
    const config = { state: join(dir, 'state.db') };

    const first = await run(config, list());
    expect(first.every((r) => r.state === 'succeeded' && r.outcome === 'downloaded')).toBe(true);
    const before = await identities(paths);
    fixture.reset();

    const second = await run(config, list());
    expect(second.map((r) => r.outcome)).toEqual(paths.map(() => 'unchanged'));
    expect(second.every((r) => r.state === 'succeeded' && r.bytesDownloaded === 0)).toBe(true);
    // From the server's side: 500 GETs, each with the ETag it sent, and not one body byte.
    expect(fixture.received).toHaveLength(500);
    expect(fixture.received.every((r) => typeof r.headers['if-none-match'] === 'string' && r.headers['if-none-match'].startsWith('"'))).toBe(true);
    expect(fixture.stats.bytesSent).toBe(0);
    expect(await identities(paths)).toEqual(before);
    expect((await readdir(dir)).filter((n) => n.includes('nectar-part'))).toEqual([]);
  }, 60_000);

  it('fetches again a file changed on the server, and one a neighbour changed on disk; the rest stay', async () => {
    const urls = await Promise.all([0, 1, 2].map((i) => fixture.publish(`c/${i}.bin`, bodyOf(i))));
    const paths = urls.map((_, i) => join(dir, `${i}.bin`));
    const list = () => urls.map((url, i) => new DownloadRequest(url, paths[i]!));
    const config = { state: join(dir, 'state.db') };
    await run(config, list());
    await fixture.publish('c/1.bin', Buffer.from('version two of file 1'));
    await writeFile(paths[2]!, 'a neighbour wrote this');
    fixture.reset();

    const second = await run(config, list());
    expect(second.map((r) => r.outcome)).toEqual(['unchanged', 'downloaded', 'downloaded']);
    expect(await readFile(paths[1]!, 'utf8')).toBe('version two of file 1');
    expect(await readFile(paths[2]!)).toEqual(bodyOf(2));
    const byPath = new Map(fixture.received.map((r) => [r.url, r.headers]));
    expect(byPath.get('/files/c/0.bin')?.['if-none-match']).toBeTruthy();
    expect(byPath.get('/files/c/1.bin')?.['if-none-match']).toBeTruthy();
    // The copy on disk is not the recorded one: asking "changed since?" about it would be a lie.
    expect(byPath.get('/files/c/2.bin')?.['if-none-match']).toBeUndefined();
  });

  it('with a trusted digest sends no request at all; verifyUnchanged decides how much is trusted', async () => {
    const body = bodyOf(7);
    const url = await fixture.publish('d/7.bin', body);
    const path = join(dir, '7.bin');
    const request = () => new DownloadRequest(url, path, { expectedDigest: { algorithm: 'sha256', value: sha256(body) } });
    const state = join(dir, 'state.db');
    await run({ state }, [request()]);
    fixture.reset();

    const [stat1] = await run({ state }, [request()]);
    expect(stat1?.outcome).toBe('unchanged');
    expect(fixture.received).toHaveLength(0);

    const [asked] = await run({ state, verifyUnchanged: 'request' }, [request()]);
    expect(asked?.outcome).toBe('unchanged');
    expect(fixture.received).toHaveLength(1);
    fixture.reset();

    // Same size, same mtime, other bytes: 'stat' cannot see it, 'digest' does and fetches again.
    const { atime, mtime } = await stat(path);
    await writeFile(path, Buffer.alloc(body.length, 'z'));
    await utimes(path, atime, mtime);
    const [read] = await run({ state, verifyUnchanged: 'digest' }, [request()]);
    expect(read?.outcome).toBe('downloaded');
    expect(await readFile(path)).toEqual(body);
    expect(fixture.received).toHaveLength(1);
    expect(fixture.received[0]?.headers['if-none-match']).toBeUndefined();
  });

  it('never keeps a secret of the URL in the store', async () => {
    const url = await fixture.publish('s/secret.bin', bodyOf(3));
    const withSecrets = url.replace('http://', 'http://alice:hunter2-password@') + '?token=tok-abcdef-123&x=1';
    const state = join(dir, 'state.db');
    const [report] = await run({ state }, [new DownloadRequest(withSecrets, join(dir, 'secret.bin'))]);
    expect(report?.state).toBe('succeeded');
    const store = await SqliteStateStore.open(state);
    const record = await store.get(join(dir, 'secret.bin'));
    await store.close();
    expect(record?.url).toContain('/files/s/secret.bin');
    expect(record?.url).not.toContain('hunter2');
    expect(record?.url).not.toContain('tok-abcdef');
    const raw = Buffer.concat(await Promise.all((await readdir(dir)).filter((n) => n.startsWith('state.db')).map((n) => readFile(join(dir, n)))));
    expect(raw.includes('hunter2')).toBe(false);
    expect(raw.includes('tok-abcdef')).toBe(false);
  });

  it('reuses a known copy of the same bytes by a hard link instead of fetching it', async () => {
    const body = bodyOf(11);
    const expectedDigest = { algorithm: 'sha256', value: sha256(body) };
    const url = await fixture.publish('r/11.bin', body);
    const state = join(dir, 'state.db');
    const first = join(dir, 'first.bin');
    await run({ state }, [new DownloadRequest(url, first, { expectedDigest })]);
    fixture.reset();

    const second = join(dir, 'second.bin');
    const [report] = await run({ state }, [new DownloadRequest(`${url}?other-name`, second, { expectedDigest })]);
    expect(report?.outcome).toBe('reused');
    expect(fixture.received).toHaveLength(0);
    const [a, b] = await Promise.all([stat(first), stat(second)]);
    expect(b.ino).toBe(a.ino);
    expect(b.nlink).toBe(2);
  });

  it('reuses a same-named file of a reuseFrom folder only when it has the expected digest', async () => {
    const body = bodyOf(12);
    const url = await fixture.publish('f/12.bin', body);
    const other = await mkdtemp(join(tmpdir(), 'nectar-reuse-'));
    try {
      await writeFile(join(other, 'good.bin'), body);
      await writeFile(join(other, 'bad.bin'), Buffer.alloc(body.length, 'q'));
      const expectedDigest = { algorithm: 'sha256', value: sha256(body) };
      const reports = await run({ reuseFrom: [other] }, [
        new DownloadRequest(url, join(dir, 'good.bin'), { expectedDigest }),
        new DownloadRequest(url, join(dir, 'bad.bin'), { expectedDigest }),
      ]);
      expect(reports.map((r) => r.outcome)).toEqual(['reused', 'downloaded']);
      expect(fixture.received).toHaveLength(1);
      expect(await readFile(join(dir, 'bad.bin'))).toEqual(body);
      expect(await readFile(join(other, 'bad.bin'))).toEqual(Buffer.alloc(body.length, 'q'));
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });
});

describe('reuse of another user\'s copy', () => {
  it('copies it rather than linking it, without their write bits: they cannot rewrite the destination later', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root, to give the cached copy to another user');
    const body = bodyOf(13);
    const url = await fixture.publish('f/13.bin', body);
    const shared = await mkdtemp(join(tmpdir(), 'nectar-reuse-shared-'));
    try {
      const cached = join(shared, 'tool.bin');
      await writeFile(cached, body);
      await chown(cached, 65534, 65534);
      await chmod(cached, 0o666);
      const [report] = await run({ reuseFrom: [shared] }, [new DownloadRequest(url, join(dir, 'tool.bin'), { expectedDigest: { algorithm: 'sha256', value: sha256(body) } })]);
      expect(report?.outcome).toBe('reused');
      const placed = await stat(join(dir, 'tool.bin'));
      expect([placed.nlink, placed.uid, placed.mode & 0o022]).toEqual([1, 0, 0]);
      await writeFile(cached, 'rewritten by its owner');
      expect(await readFile(join(dir, 'tool.bin'))).toEqual(body);
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});

describe('conditional requests without a store (ifModifiedSince)', () => {
  it('stamps the Last-Modified on the file, then asks If-Modified-Since and keeps it on a 304', async () => {
    const url = await fixture.publish('n/1.bin', bodyOf(1));
    const path = join(dir, '1.bin');
    const [first] = await run({ ifModifiedSince: true }, [new DownloadRequest(url, path)]);
    expect(first?.outcome).toBe('downloaded');
    const before = await identities([path]);
    fixture.reset();
    const [second] = await run({ ifModifiedSince: true }, [new DownloadRequest(url, path)]);
    expect(second?.outcome).toBe('unchanged');
    expect(fixture.received[0]?.headers['if-modified-since']).toBe(new Date((await stat(path)).mtimeMs).toUTCString());
    expect(fixture.stats.bytesSent).toBe(0);
    expect(await identities([path])).toEqual(before);
  });
});

describe('a server that lies with 304', () => {
  let server: Server;
  let origin: string;
  beforeAll(async () => {
    server = createServer((_, res) => res.writeHead(304, { etag: '"x"' }).end());
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('fails a request that was not conditional (NECTAR_HTTP_STATUS 304) and leaves no file', async () => {
    const path = join(dir, 'lie.bin');
    const [report] = await run({ state: join(dir, 'state.db') }, [new DownloadRequest(`${origin}/lie.bin`, path)]);
    expect(report?.state).toBe('failed');
    expect(report?.outcome).toBeNull();
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status: 304 });
    expect(await readdir(dir)).not.toContain('lie.bin');
  });

  it("fails a 304 to the caller's own If-None-Match: Nectar did not make it conditional", async () => {
    const path = join(dir, 'own.bin');
    const [report] = await run({}, [new DownloadRequest(`${origin}/own.bin`, path, { headers: { 'If-None-Match': '"x"' } })]);
    expect(report?.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status: 304 });
    expect(await readdir(dir)).toEqual([]);
  });
});
