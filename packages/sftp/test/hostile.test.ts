import { randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync, truncateSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type DownloadEventListener, type DownloadReport, DownloadRequest, } from '@nectar/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SftpConfigOptions, SftpDownloader } from '../src/index.js';
import { type SftpFixture, sftpFixture, sshdSkipReason } from '../src/testing.js';

const skip = sshdSkipReason();

/**
 * A server that lies, from OpenSSH's own sftp-server: it serves the local filesystem, so kernel
 * files and files changed under it mid-read are real. Every request carries secrets (a URL
 * password, basicAuthPassword, a key passphrase) that no failure may show.
 */
describe.skipIf(skip !== null)(`SftpDownloader against a server that lies${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  const fixture: SftpFixture = sftpFixture();
  const secrets = ['url-secret-7f3a', 'basic-secret-91c2', 'phrase-secret-44d0'];
  const open: SftpDownloader[] = [];
  let folder: string;

  beforeAll(async () => {
    await fixture.start();
    folder = await mkdtemp(join(tmpdir(), 'nectar-sftp-hostile-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await fixture.stop();
    await rm(folder, { recursive: true, force: true });
  });

  /** The sftp:// URL of any absolute path on the server, with a password that must never show. */
  function urlOf(path: string): string {
    const url = new URL(fixture.url('x'));
    url.password = secrets[0]!;
    url.pathname = path;
    return url.href;
  }

  let counter = 0;
  async function fetchOne(url: string, config: SftpConfigOptions = {}, listener: DownloadEventListener = {}): Promise<DownloadReport & { bytes?: Buffer }> {
    const dest = join(folder, `d${++counter}`);
    const d = new SftpDownloader({ retries: 0, ...fixture.config, basicAuthUsername: fixture.username, basicAuthPassword: secrets[1], sslClientKeyPassphrase: secrets[2], ...config }, listener);
    open.push(d);
    const [report] = await d.download([new DownloadRequest(url, dest)]);
    expect(await partFiles()).toEqual([]);
    for (const secret of secrets) expect(JSON.stringify(report!.errorReport)).not.toContain(secret);
    return report!.state === 'succeeded' ? Object.assign(report!, { bytes: await readFile(dest) }) : report!;
  }

  async function partFiles(): Promise<string[]> {
    return (await readdir(folder)).filter((name) => name.includes('nectar-part'));
  }

  it('reads a file that stats at 0 bytes yet has content (/proc) to its end, with totalBytes null', async () => {
    const report = await fetchOne(urlOf('/proc/self/status'));
    expect(report.state).toBe('succeeded');
    expect(report.totalBytes).toBeNull();
    expect(report.bytes!.toString()).toMatch(/^Name:/);
    expect(report.bytesDownloaded).toBe(report.bytes!.length);
    // The one-byte look that tells them apart leaves a truly empty file at 0 bytes.
    const empty = await fetchOne(await fixture.publish('empty.bin', new Uint8Array(0)));
    expect([empty.state, empty.totalBytes, empty.bytes?.length]).toEqual(['succeeded', 0, 0]);
  });

  it('fails a file whose reads fail (/proc/self/mem) cleanly instead of reporting it empty', async () => {
    const report = await fetchOne(urlOf('/proc/self/mem'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_BACKEND', sftpStatus: 4 });
  });

  const sysfs = '/sys/devices/system/cpu/online';
  it.skipIf(!existsSync(sysfs))(`fails a file that reads short of its stat size without changing (sysfs), not retried${existsSync(sysfs) ? '' : ` (skipped: no ${sysfs} on this machine)`}`, async () => {
    const report = await fetchOne(urlOf(sysfs), { retries: 2, retryDelay: 1 });
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_SIZE_MISMATCH', reason: 'short-read', attempts: 1 });
  });

  const changes: [string, (path: string) => void][] = [
    ['grows', (path) => appendFileSync(path, randomBytes(70_000))],
    ['shrinks', (path) => truncateSync(path, 100_000)],
  ];

  it.each(changes)('fails a file that %s while it is read as retryable, and a retry gets the file as it is now', async (what, change) => {
    for (const retries of [0, 1]) {
      const name = `changing-${what}-${retries}.bin`;
      const url = await fixture.publish(name, randomBytes(8 * 1024 * 1024));
      const path = join(fixture.root, name);
      let changed = false;
      const listener: DownloadEventListener = {
        downloadProgress(report) {
          if (!changed && report.bytesDownloaded > 1024 * 1024) {
            changed = true;
            change(path);
          }
        },
      };
      // A speed limit keeps the read going long enough for the change to land mid-read.
      const report = await fetchOne(url.replace('@', `:${secrets[0]}@`), { retries, retryDelay: 1, maxSpeed: 8_000_000 }, listener);
      expect(changed).toBe(true);
      if (retries === 0) {
        expect(report.state).toBe('failed');
        expect(report.errorReport).toMatchObject({ code: 'NECTAR_SIZE_MISMATCH', reason: 'source-changed' });
        expect(String(report.errorReport.url)).toContain(':***@');
      } else {
        expect(report.state).toBe('succeeded');
        expect(report.attempts).toBe(2);
        expect(report.bytes!.equals(readFileSync(path))).toBe(true);
      }
    }
  });

  it('fails a transfer whose connection drops mid-read with NECTAR_NETWORK, and the next one reconnects', async () => {
    const url = (await fixture.publish('dropped.bin', randomBytes(16 * 1024 * 1024))).replace('@', `:${secrets[0]}@`);
    let dropped = false;
    const listener: DownloadEventListener = {
      downloadProgress(report) {
        if (!dropped && report.bytesDownloaded > 1024 * 1024) {
          dropped = true;
          void fixture.dropConnections();
        }
      },
    };
    const report = await fetchOne(url, { maxSpeed: 16_000_000 }, listener);
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_NETWORK' });
    expect(String(report.errorReport.message)).toContain(':***@');
    expect((await fetchOne(url)).state).toBe('succeeded');
  });
});
