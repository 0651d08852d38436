import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloaderConfig, type DownloaderConfigOptions, type DownloadReport, DownloadRequest, type Downloader } from '@nectar/core';
import { AxiosDownloader, type AxiosDownloaderOptions } from '../src/index.js';

/** A temp folder per test file; `files()` lists what is in it, part files included. */
export interface Scratch {
  readonly dir: string;
  path(name: string): string;
  files(): Promise<string[]>;
  remove(): Promise<void>;
}

export async function scratch(): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), 'nectar-axios-'));
  return {
    dir,
    path: (name) => join(dir, name),
    files: async () => (await readdir(dir)).sort(),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Downloaders made by a test, closed by `closeAll()` in afterEach. */
export class Downloaders {
  readonly #open: AxiosDownloader[] = [];

  create(options: DownloaderConfigOptions = {}, axiosOptions?: AxiosDownloaderOptions): AxiosDownloader {
    // No retries unless a test asks: a retry would only slow a failure case down.
    const downloader = new AxiosDownloader(new DownloaderConfig({ retries: 0, ...options }), undefined, axiosOptions);
    this.#open.push(downloader);
    return downloader;
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.#open.splice(0).map((d) => d.close()));
  }
}

export async function fetchOne(downloader: Downloader, url: string, destination: string): Promise<DownloadReport> {
  const [report] = await downloader.download([new DownloadRequest(url, destination)]);
  if (report === undefined) throw new Error('download() returned no report');
  return report;
}

/** What the fixture's /echo route saw, read back from the downloaded file. */
export async function echoed(path: string): Promise<Record<string, string | undefined>> {
  return (JSON.parse(await readFile(path, 'utf8')) as { headers: Record<string, string> }).headers;
}

/** Polls until `check` holds or `ms` pass; returns whether it held. */
export async function eventually(check: () => boolean, ms = 2_000): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return true;
}
