import { DownloaderConfig, type DownloadEventListener } from '@nectar/core';
import { DownloaderSet, scratch as scratchFolder } from '@nectar/conformance';
import { type UndiciConfigOptions, UndiciDownloader } from '../src/index.js';

export { fetchOne, type Scratch } from '@nectar/conformance';

export const scratch = () => scratchFolder('nectar-undici-');

/** Downloaders made by a test, closed by `closeAll()` in afterEach; no retries unless a test asks (a retry only slows a failure case down). */
export class Downloaders extends DownloaderSet<UndiciDownloader, [options?: UndiciConfigOptions, listener?: DownloadEventListener]> {
  constructor() {
    super((options = {}, listener) => new UndiciDownloader(new DownloaderConfig({ retries: 0, ...options }), listener));
  }
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
