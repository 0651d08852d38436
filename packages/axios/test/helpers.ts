import { readFile } from 'node:fs/promises';
import { DownloaderConfig, type DownloaderConfigOptions } from '@nectar/core';
import { DownloaderSet, scratch as scratchFolder } from '@nectar/conformance';
import { AxiosDownloader, type AxiosDownloaderOptions } from '../src/index.js';

export { fetchOne, type Scratch } from '@nectar/conformance';

export const scratch = () => scratchFolder('nectar-axios-');

/** Downloaders made by a test, closed by `closeAll()` in afterEach; no retries unless a test asks (a retry only slows a failure case down). */
export class Downloaders extends DownloaderSet<AxiosDownloader, [options?: DownloaderConfigOptions, axiosOptions?: AxiosDownloaderOptions]> {
  constructor() {
    super((options = {}, axiosOptions) => new AxiosDownloader(new DownloaderConfig({ retries: 0, ...options }), undefined, axiosOptions));
  }
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
