import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { chmod, link, lstat, mkdtemp, readFile, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ComposedDownloader, type DownloadEventListener, type Downloader, type DownloadReport, DownloaderConfig, DownloadRequest, type TransferJob } from '@nectar/core/backend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileDownloader, type FileMode, fileBackend } from '../src/index.js';

let folder: string;
let source: string;
const body = randomBytes(100_000);
const modes: FileMode[] = ['copy', 'hardlink', 'symlink'];

beforeEach(async () => {
  folder = await mkdtemp(join(tmpdir(), 'nectar-file-hostile-'));
  source = join(folder, 'source.bin');
  await writeFile(source, body);
});
afterEach(async () => {
  await rm(folder, { recursive: true, force: true });
});

/** Builds the downloader under test: FileDownloader, or an engine over a wrapped backend. */
type Make = (config: DownloaderConfig, listener?: DownloadEventListener) => Downloader;
const plainFile: Make = (config, listener) => new FileDownloader(config, listener);

async function fetchOne(config: Record<string, unknown>, from: string, dest: string, listener?: DownloadEventListener, make = plainFile): Promise<DownloadReport> {
  const downloader = make(new DownloaderConfig({ retries: 0, ...config }), listener);
  try {
    const [report] = await downloader.download([new DownloadRequest(pathToFileURL(from).href, dest)]);
    return report!;
  } finally {
    await downloader.close();
  }
}

async function partFiles(): Promise<string[]> {
  return (await readdir(folder)).filter((name) => name.includes('nectar-part'));
}

describe('a destination that is the source itself', () => {
  const cases: [string, () => Promise<{ from: string; dest: string; real: string }>][] = [
    ['the same path', async () => ({ from: source, dest: source, real: source })],
    ['a hard link to the source', async () => {
      await link(source, join(folder, 'hard'));
      return { from: source, dest: join(folder, 'hard'), real: source };
    }],
    ['a symlink to the source', async () => {
      await symlink(source, join(folder, 'soft'));
      return { from: source, dest: join(folder, 'soft'), real: source };
    }],
    ['the target of a source that is a symlink', async () => {
      await symlink(source, join(folder, 'alias'));
      return { from: join(folder, 'alias'), dest: source, real: source };
    }],
  ];

  it.each(modes.flatMap((mode) => cases.map(([what, setUp]) => [mode, what, setUp] as const)))('fails in %s mode when the destination is %s, and the source stays whole', async (mode, _what, setUp) => {
    const { from, dest, real } = await setUp();
    const report = await fetchOne({ fileMode: mode }, from, dest);
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_DESTINATION', reason: 'same-file' });
    expect(String(report.errorReport.message)).toContain(dest);
    expect(String(report.errorReport.message)).toContain(from);
    expect((await lstat(real)).isFile()).toBe(true);
    expect((await readFile(real)).equals(body)).toBe(true);
    expect(await partFiles()).toEqual([]);
  });
});

describe('special files', () => {
  it('reads /proc files to their end: real content, totalBytes null, through a path or a speed limit', async () => {
    for (const [from, config] of [['/proc/self/status', {}], ['/proc/cpuinfo', {}], ['/proc/self/status', { maxSpeed: 1_000_000 }]] as const) {
      const dest = join(folder, 'proc');
      const report = await fetchOne(config, from, dest);
      expect(report.state).toBe('succeeded');
      expect(report.totalBytes).toBeNull();
      const copied = await readFile(dest, 'utf8');
      expect(copied.length).toBeGreaterThan(0);
      expect(copied).toMatch(from === '/proc/cpuinfo' ? /processor/ : /^Name:/);
      expect(report.bytesDownloaded).toBe(Buffer.byteLength(copied));
      await rm(dest);
    }
    // The one-byte look that tells a /proc file from an empty one leaves an empty file at 0 bytes.
    await writeFile(join(folder, 'empty'), '');
    const empty = await fetchOne({}, join(folder, 'empty'), join(folder, 'empty-copy'));
    expect([empty.state, empty.totalBytes]).toEqual(['succeeded', 0]);
  });

  it('fails a kernel file that cannot be read (/proc/self/mem) instead of copying it empty', async () => {
    const report = await fetchOne({}, '/proc/self/mem', join(folder, 'mem'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_BACKEND', errno: 'EIO' });
    expect(existsSync(join(folder, 'mem'))).toBe(false);
    expect(await partFiles()).toEqual([]);
  });

  it.each(['hardlink', 'symlink'] as const)('refuses a /proc file in %s mode: a link would show the reader, not what we saw', async (mode) => {
    const report = await fetchOne({ fileMode: mode }, '/proc/self/status', join(folder, 'link'));
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', field: 'fileMode' });
    expect(existsSync(join(folder, 'link'))).toBe(false);
    expect(await partFiles()).toEqual([]);
  });

  const sysfs = '/sys/devices/system/cpu/online';
  it.skipIf(!existsSync(sysfs))(`fails a sysfs file whose stat size is made up, not retried, rather than count bytes it never read${existsSync(sysfs) ? '' : ` (skipped: no ${sysfs} on this machine)`}`, async () => {
    const report = await fetchOne({ retries: 2, retryDelay: 1 }, sysfs, join(folder, 'online'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_SIZE_MISMATCH', reason: 'short-read', attempts: 1 });
    expect(existsSync(join(folder, 'online'))).toBe(false);
  });

  it('refuses devices, FIFOs, sockets and folders in every mode, without waiting on them', async () => {
    const fifo = join(folder, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const socket = join(folder, 'socket');
    const server = createServer().listen(socket);
    try {
      for (const mode of modes) {
        for (const from of ['/dev/zero', '/dev/urandom', fifo, socket, folder]) {
          const report = await fetchOne({ fileMode: mode }, from, join(folder, 'special'));
          expect(report.errorReport, `${mode} ${from}`).toMatchObject({ code: 'NECTAR_NOT_FOUND', reason: 'not-a-file' });
          expect(existsSync(join(folder, 'special'))).toBe(false);
        }
      }
    } finally {
      server.close();
    }
  });
});

describe('a source that changes during the copy', () => {
  const next = randomBytes(4 * 1024 * 1024);
  const changes: [string, (path: string) => void][] = [
    ['grows', (path) => appendFileSync(path, 'tail')],
    ['is rewritten in place', (path) => writeFileSync(path, randomBytes(next.length), { flag: 'r+' })],
    ['is truncated', (path) => truncateSync(path, 1000)],
  ];

  it.each(changes)('fails as retryable when it %s, and a retry copies the file as it is now', async (_what, change) => {
    await writeFile(source, next);
    // 4 MiB at 4 MB/s: about a second of copying, with progress in between.
    const changeOnce = (): DownloadEventListener & { now?: Buffer } => {
      const listener: DownloadEventListener & { now?: Buffer } = {
        downloadProgress(report) {
          if (listener.now !== undefined || report.bytesDownloaded === 0) return;
          change(source);
          listener.now = readFileSync(source);
        },
      };
      return listener;
    };
    const first = changeOnce();
    const failed = await fetchOne({ maxSpeed: 4_000_000 }, source, join(folder, 'torn'), first);
    expect(failed.state).toBe('failed');
    expect(failed.errorReport).toMatchObject({ code: 'NECTAR_SIZE_MISMATCH', reason: 'source-changed' });
    expect(existsSync(join(folder, 'torn'))).toBe(false);
    expect(await partFiles()).toEqual([]);

    await writeFile(source, next);
    const second = changeOnce();
    const retried = await fetchOne({ maxSpeed: 4_000_000, retries: 1, retryDelay: 1 }, source, join(folder, 'whole'), second);
    expect(retried.state).toBe('succeeded');
    expect(retried.attempts).toBe(2);
    expect((await readFile(join(folder, 'whole'))).equals(second.now!)).toBe(true);
  });
});

describe('a neighbour who swaps the part file', () => {
  /** Replaces the part file core created just before the backend opens it: the worst moment. */
  function swapping(plant: (tempPath: string) => Promise<void>): Make {
    return (config, listener) => {
      // fileMode comes from the config when the engine opens the backend.
      const backend = fileBackend();
      const transfer = async (job: TransferJob): Promise<void> => {
        await rm(job.tempPath!);
        await plant(job.tempPath!);
        return backend.transfer(job);
      };
      return new ComposedDownloader({ ...backend, transfer }, config, listener);
    };
  }
  const victimBody = Buffer.from('the victim file, which nobody may overwrite\n');

  it.each([
    ['a symlink', (victim: string) => (tempPath: string) => symlink(victim, tempPath)],
    ['a hard link', (victim: string) => (tempPath: string) => link(victim, tempPath)],
  ])('never writes through %s to another file, in any mode', async (_what, planter) => {
    const victim = join(folder, 'victim');
    await writeFile(victim, victimBody);
    const make = swapping(planter(victim));
    for (const config of [{}, { maxSpeed: 10_000_000 }]) {
      const report = await fetchOne(config, source, join(folder, 'copied'), undefined, make);
      expect(report.errorReport, JSON.stringify(config)).toMatchObject({ code: 'NECTAR_DESTINATION' });
      expect(existsSync(join(folder, 'copied'))).toBe(false);
    }
    for (const mode of ['hardlink', 'symlink'] as const) {
      const dest = join(folder, mode);
      const report = await fetchOne({ fileMode: mode }, source, dest, undefined, make);
      // The backend unlinks the name and links afresh: the plant is gone, the link is right.
      expect(report.state).toBe('succeeded');
      expect((await stat(dest)).ino).toBe((await stat(source)).ino);
      if (mode === 'symlink') expect(await readlink(dest)).toBe(source);
    }
    expect(await readFile(victim)).toEqual(victimBody);
    expect(await partFiles()).toEqual([]);
  });
});

it('gives a copy the mode of a fresh file, never the setuid or world-writable bits of its source', async () => {
  await chmod(source, 0o4777);
  const fresh = join(folder, 'fresh');
  await writeFile(fresh, '');
  const report = await fetchOne({}, source, join(folder, 'copy'));
  expect(report.state).toBe('succeeded');
  expect((await stat(join(folder, 'copy'))).mode).toBe((await stat(fresh)).mode);
});

describe('a neighbour who swaps the link the backend just made', () => {
  it.each(['hardlink', 'symlink'] as const)('is refused in %s mode: the identity core keeps is the checked link, never what the name holds later', async (fileMode) => {
    const { createRequire, syncBuiltinESMExports } = await import('node:module');
    const { linkSync, symlinkSync, unlinkSync } = await import('node:fs');
    // node:fs/promises as src/link.ts imports it: its lstat of the part file is where the
    // neighbour strikes, after our link() and its checks of old.
    const promises = createRequire(import.meta.url)('node:fs/promises') as typeof import('node:fs/promises');
    const realLstat = promises.lstat;
    const planted = join(folder, 'neighbour.bin');
    await writeFile(planted, 'planted by a neighbour');
    let armed = true;
    promises.lstat = (async (path: Parameters<typeof realLstat>[0], ...rest: unknown[]) => {
      if (armed && String(path).endsWith('.nectar-part')) {
        armed = false;
        unlinkSync(path);
        (fileMode === 'hardlink' ? linkSync : symlinkSync)(planted, path);
      }
      return (realLstat as (...args: unknown[]) => unknown)(path, ...rest);
    }) as typeof realLstat;
    syncBuiltinESMExports();
    try {
      const destination = join(folder, `swapped-${fileMode}`);
      const downloader = new FileDownloader(new DownloaderConfig({ retries: 0, extra: { fileMode } }));
      const [report] = await downloader.download([new DownloadRequest(pathToFileURL(source).href, destination)]);
      await downloader.close();
      expect(armed).toBe(false);
      // Before: 'succeeded', the destination the neighbour's file.
      expect(report?.state).toBe('failed');
      expect(existsSync(destination)).toBe(false);
      expect(await readFile(planted, 'utf8')).toBe('planted by a neighbour');
    } finally {
      promises.lstat = realLstat;
      syncBuiltinESMExports();
    }
  });
});
