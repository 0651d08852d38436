import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'libsql';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type StateRecord, SqliteStateStore, digestKey } from '../src/index.js';

const viteNode = createRequire(import.meta.url).resolve('vite-node/vite-node.mjs');
const writer = new URL('./fixtures/store-writer.ts', import.meta.url).pathname;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nectar-store-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function record(destination: string, fields: Partial<StateRecord> = {}): StateRecord {
  return { destination, url: 'https://h/f', etag: '"e1"', lastModified: null, size: 3, mtimeNs: '1000', digest: null, outcome: 'downloaded', updatedAt: 1, ...fields };
}

/** Starts a child that writes `count` records; resolves once it wrote its first. */
async function startWriter(path: string, prefix: string, count: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [viteNode, writer, path, prefix, String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout!, 'data');
  return child;
}

/** SQLite's own verdict on the file, read with a connection of its own. */
function integrity(path: string): string {
  const db = new Database(path);
  try {
    return (db.prepare('PRAGMA integrity_check').get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

describe('SqliteStateStore', () => {
  it('keeps, replaces, finds by digest and deletes records', async () => {
    const store = await SqliteStateStore.open(join(dir, 'state.db'));
    const digest = digestKey({ algorithm: 'SHA256', value: 'AB' });
    expect(digest).toBe('sha256:ab');
    await store.put(record('/a', { digest }));
    await store.put(record('/b', { digest, etag: null, lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' }));
    await store.put(record('/a', { digest, size: 7, mtimeNs: '1764583200123456789' }));
    expect(await store.get('/a')).toEqual(record('/a', { digest, size: 7, mtimeNs: '1764583200123456789' }));
    expect((await store.withDigest(digest, 10)).map((r) => r.destination).sort()).toEqual(['/a', '/b']);
    await store.delete('/a');
    expect(await store.get('/a')).toBeUndefined();
    expect(await store.count()).toBe(1);
    await store.close();
    // Reopened: the records are on disk, not in the process.
    const again = await SqliteStateStore.open(join(dir, 'state.db'));
    expect((await again.get('/b'))?.lastModified).toBe('Tue, 01 Dec 2026 10:00:00 GMT');
    await again.close();
  });

  it('is shared by two processes writing at once: every record of both is there', async () => {
    const path = join(dir, 'shared.db');
    const children = [await startWriter(path, 'x', 1500), await startWriter(path, 'y', 1500)];
    const codes = await Promise.all(children.map(async (c) => (c.exitCode ?? (await once(c, 'exit'))[0]) as number));
    expect(codes).toEqual([0, 0]);
    const store = await SqliteStateStore.open(path);
    expect(await store.count()).toBe(3000);
    expect((await store.get('/data/y/1499'))?.size).toBe(1499);
    await store.close();
    expect(integrity(path)).toBe('ok');
  }, 60_000);

  it('survives kill -9 in the middle of writing, three times: sound, every record whole, none lost that was seen', async () => {
    const path = join(dir, 'killed.db');
    let seen = 0;
    for (const round of [1, 2, 3]) {
      const child = await startWriter(path, `r${round}`, 1_000_000);
      // Let it commit for a while, then kill it wherever it is.
      await new Promise((resolve) => setTimeout(resolve, 300 + round * 150));
      child.kill('SIGKILL');
      await once(child, 'exit');
      expect(integrity(path)).toBe('ok');
      const store = await SqliteStateStore.open(path);
      const count = await store.count();
      expect(count).toBeGreaterThan(seen);
      seen = count;
      await store.close();
    }
    const db = new Database(path);
    const broken = db.prepare("SELECT count(*) AS n FROM records WHERE size != CAST(substr(destination, instr(substr(destination, 7), '/') + 7) AS INTEGER) OR etag IS NULL").get() as { n: number };
    db.close();
    expect(broken.n).toBe(0);
  }, 60_000);

  it.each([
    ['overwritten with garbage', async (path: string) => writeFile(path, 'not a database '.repeat(200))],
    ['truncated to half', async (path: string) => truncate(path, Math.floor((await stat(path)).size / 2))],
  ])('moves a store file %s aside and begins a new one, with a warning', async (_, damage) => {
    const path = join(dir, 'state.db');
    const store = await SqliteStateStore.open(path);
    await store.putMany(Array.from({ length: 20_000 }, (_, i) => record(`/f/${i}`, { url: `https://h/${'x'.repeat(40)}/${i}` })));
    await store.close();
    await damage(path);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      const fresh = await SqliteStateStore.open(path);
      expect(await fresh.count()).toBe(0);
      await fresh.put(record('/new'));
      expect((await fresh.get('/new'))?.etag).toBe('"e1"');
      await fresh.close();
      await new Promise(setImmediate);
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => (w as Error & { code?: string }).code)).toContain('NECTAR_STATE_STORE');
    expect((await readdir(dir)).some((name) => name.startsWith('state.db.corrupt-'))).toBe(true);
  });
});
