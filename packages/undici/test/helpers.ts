import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloaderConfig, type DownloadEventListener, type DownloadReport, DownloadRequest } from '@nectar/core';
import { type UndiciConfigOptions, UndiciDownloader } from '../src/index.js';

/** A temp folder per test file; `files()` lists what is in it, part files included. */
export interface Scratch {
  readonly dir: string;
  path(name: string): string;
  files(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'nectar-undici-'));
  return {
    dir,
    path: (name) => join(dir, name),
    files: async () => (await readdir(dir)).sort(),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Downloaders made by a test, closed by `closeAll()` in afterEach. */
export class Downloaders {
  readonly #open: UndiciDownloader[] = [];

  create(options: UndiciConfigOptions = {}, listener?: DownloadEventListener): UndiciDownloader {
    // No retries unless a test asks: a retry would only slow a failure case down.
    const downloader = new UndiciDownloader(new DownloaderConfig({ retries: 0, ...options }), listener);
    this.#open.push(downloader);
    return downloader;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((d) => d.close()));
  }
}

/** Downloads one URL and returns its report. */
export async function fetchOne(
  downloader: UndiciDownloader,
  url: string,
  destination: string,
  headers?: Record<string, string>,
): Promise<DownloadReport> {
  const [report] = await downloader.download([new DownloadRequest(url, destination, { headers })]);
  if (report === undefined) throw new Error('download() returned no report');
  return report;
}

/** Bytes that compress poorly and differ at every offset, so a shifted byte shows. */
export function randomBytes(size: number): Buffer {
  const bytes = Buffer.alloc(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  return bytes;
}
