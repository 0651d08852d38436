import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Downloader, DownloaderConfig, type DownloadReport, DownloadRequest, type DownloaderConfigInput, DownloaderRegistry } from '@nectar/core';
import { ComposedDownloader } from '@nectar/core/backend';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type SftpConfigOptions, SftpDownloader, register, sftpBackend } from '../src/index.js';
import { generateKeyPair } from '../src/fixture/keys.js';
import { type SftpFixture, sftpFixture, sshdSkipReason } from '../src/testing.js';

const skip = sshdSkipReason();

describe.skipIf(skip !== null)(`SftpDownloader against OpenSSH${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  const fixture: SftpFixture = sftpFixture({ passwordLogin: true });
  const open: SftpDownloader[] = [];
  let folder: string;

  beforeAll(async () => {
    await fixture.start();
    folder = await mkdtemp(join(tmpdir(), 'nectar-sftp-test-'));
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((d) => d.close()));
  });
  afterAll(async () => {
    await fixture.stop();
    await rm(folder, { recursive: true, force: true });
  });

  function downloader(config: SftpConfigOptions = {}, listener = {}): SftpDownloader {
    const d = new SftpDownloader({ retries: 0, ...fixture.config, ...config }, listener);
    open.push(d);
    return d;
  }

  let counter = 0;
  async function publish(size: number): Promise<{ url: string; body: Buffer; name: string }> {
    const body = randomBytes(size);
    const name = `t${++counter}.bin`;
    return { url: await fixture.publish(name, body), body, name };
  }

  /** One download; `bytes` holds what landed when it succeeded. */
  async function fetchOne(url: string, config: SftpConfigOptions = {}): Promise<DownloadReport & { bytes?: Buffer }> {
    const dest = join(folder, `d${++counter}`);
    const [report] = await downloader(config).download([new DownloadRequest(url, dest)]);
    return report?.state === 'succeeded' ? Object.assign(report, { bytes: await readFile(dest) }) : report!;
  }

  describe('login', () => {
    it('logs in with the private key from a path (the fixture config) and reports totalBytes', async () => {
      const file = await publish(300_000);
      const report = await fetchOne(file.url);
      expect(report.state).toBe('succeeded');
      expect(report.totalBytes).toBe(300_000);
      expect(report.bytes?.equals(file.body)).toBe(true);
    });

    it('logs in with the private key given as data', async () => {
      const file = await publish(1000);
      const report = await fetchOne(file.url, { sshPrivateKeyPath: undefined, sshPrivateKey: fixture.clientKey });
      expect(report.state).toBe('succeeded');
    });

    it('logs in with an encrypted key and config.sslClientKeyPassphrase; a wrong one names the key file, never the passphrase', async () => {
      const file = await publish(1000);
      const ok = await fetchOne(file.url, { sshPrivateKeyPath: fixture.encryptedClientKeyPath, sslClientKeyPassphrase: fixture.clientKeyPassphrase });
      expect(ok.state).toBe('succeeded');
      const wrong = 'wrong-passphrase-5e1d';
      const bad = await fetchOne(file.url, { sshPrivateKeyPath: fixture.encryptedClientKeyPath, sslClientKeyPassphrase: wrong, retries: 2 });
      expect(bad.state).toBe('failed');
      expect(bad.errorReport).toMatchObject({
        code: 'NECTAR_INVALID_CONFIG',
        field: 'sslClientKeyPassphrase',
        reason: 'passphrase-wrong',
        keyFile: fixture.encryptedClientKeyPath,
        // Found when the backend opens, before any login: nothing to retry.
        attempts: 0,
      });
      expect(String(bad.errorReport.message)).toContain(fixture.encryptedClientKeyPath);
      expect(JSON.stringify(bad.errorReport)).not.toContain(wrong);
    });

    it('fails an encrypted key without a passphrase, naming the key file and the field to set', async () => {
      const file = await publish(100);
      const report = await fetchOne(file.url, { sshPrivateKeyPath: fixture.encryptedClientKeyPath });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_INVALID_CONFIG', field: 'sslClientKeyPassphrase', reason: 'passphrase-missing', keyFile: fixture.encryptedClientKeyPath });
      expect(String(report.errorReport.message)).toBe(`${fixture.encryptedClientKeyPath} is encrypted and no passphrase was given (config.sslClientKeyPassphrase)`);
    });

    it('fails a file that holds no private key, naming it', async () => {
      const file = await publish(100);
      const report = await fetchOne(file.url, { sshPrivateKeyPath: `${fixture.clientKeyPath}.pub` });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_INVALID_CONFIG', field: 'sshPrivateKeyPath', reason: 'key-unusable', keyFile: `${fixture.clientKeyPath}.pub` });
    });

    describe('several keys, tried in turn as ssh tries its identities', () => {
      let keys: string;
      let stranger: string;
      beforeAll(async () => {
        keys = await mkdtemp(join(tmpdir(), 'nectar-sftp-keys-'));
        stranger = (await generateKeyPair(join(keys, 'stranger'))).privatePath;
      });
      afterAll(() => rm(keys, { recursive: true, force: true }));

      it('logs in with the second path when the server refuses the first, on one connection', async () => {
        const file = await publish(20_000);
        const before = fixture.logins;
        const report = await fetchOne(file.url, { sshPrivateKeyPath: [stranger, fixture.clientKeyPath] });
        expect(report.state).toBe('succeeded');
        expect(report.bytes?.equals(file.body)).toBe(true);
        expect(fixture.logins - before).toBe(1);
      });

      it('takes several keys as data, and an encrypted one among them with the passphrase', async () => {
        const file = await publish(1000);
        const strangerKey = await readFile(stranger);
        const encrypted = await readFile(fixture.encryptedClientKeyPath);
        const report = await fetchOne(file.url, { sshPrivateKeyPath: undefined, sshPrivateKey: [strangerKey, encrypted], sslClientKeyPassphrase: fixture.clientKeyPassphrase });
        expect(report.state).toBe('succeeded');
      });

      it('fails with NECTAR_AUTH when the server refuses every key', async () => {
        const file = await publish(100);
        const report = await fetchOne(file.url, { sshPrivateKeyPath: [stranger, stranger] });
        expect(report.errorReport).toMatchObject({ code: 'NECTAR_AUTH' });
      });

      it('names the key a wrong passphrase does not open, even when it is not the first', async () => {
        const file = await publish(100);
        const report = await fetchOne(file.url, { sshPrivateKeyPath: [stranger, fixture.encryptedClientKeyPath], sslClientKeyPassphrase: 'not-it-at-all' });
        expect(report.errorReport).toMatchObject({ code: 'NECTAR_INVALID_CONFIG', reason: 'passphrase-wrong', keyFile: fixture.encryptedClientKeyPath });
      });
    });

    it('fails a key the server does not accept with NECTAR_AUTH, without retrying', async () => {
      const file = await publish(100);
      const keys = await mkdtemp(join(tmpdir(), 'nectar-sftp-key-'));
      try {
        const stranger = await generateKeyPair(join(keys, 'stranger'));
        const report = await fetchOne(file.url, { sshPrivateKeyPath: stranger.privatePath, retries: 2, retryDelay: 1 });
        expect(report.state).toBe('failed');
        expect(report.errorReport).toMatchObject({ code: 'NECTAR_AUTH', attempts: 1 });
      } finally {
        await rm(keys, { recursive: true, force: true });
      }
    });

    describe('with a password (a throwaway local user)', () => {
      it.skipIf(fixture.passwordLoginUnavailable !== null)('takes the password from the URL', async () => {
        const file = await publish(5000);
        const { username, password } = fixture.passwordUser!;
        const url = fixture.url(file.name, `${username}:${encodeURIComponent(password)}`).replace(/^sftp:\/\/[^@]+@/, `sftp://${username}:${encodeURIComponent(password)}@`);
        const report = await fetchOne(url, { sshPrivateKeyPath: undefined });
        expect(report.state).toBe('succeeded');
        expect(report.bytes?.equals(file.body)).toBe(true);
      });

      it.skipIf(fixture.passwordLoginUnavailable !== null)('takes the password from basicAuthUsername/basicAuthPassword', async () => {
        const file = await publish(5000);
        const { username, password } = fixture.passwordUser!;
        const url = fixture.url(file.name).replace(/^sftp:\/\/[^@]+@/, 'sftp://');
        const report = await fetchOne(url, { sshPrivateKeyPath: undefined, basicAuthUsername: username, basicAuthPassword: password });
        expect(report.state).toBe('succeeded');
      });

      it.skipIf(fixture.passwordLoginUnavailable !== null)('fails a wrong password with NECTAR_AUTH and never shows it', async () => {
        const file = await publish(100);
        const secret = 'not-the-password-42';
        const url = fixture.url(file.name).replace(/^sftp:\/\/[^@]+@/, `sftp://${fixture.passwordUser!.username}:${secret}@`);
        const report = await fetchOne(url, { sshPrivateKeyPath: undefined });
        expect(report.state).toBe('failed');
        expect(report.errorReport.code).toBe('NECTAR_AUTH');
        expect(JSON.stringify(report.errorReport)).not.toContain(secret);
        expect(String(report.errorReport.url)).toContain(':***@');
      });

      it.skipIf(fixture.passwordLoginUnavailable !== null)('fails a file the user may not read with NECTAR_PERMISSION', async () => {
        const file = await publish(100);
        await chmod(join(fixture.root, file.name), 0o600);
        const { username, password } = fixture.passwordUser!;
        const url = fixture.url(file.name).replace(/^sftp:\/\/[^@]+@/, `sftp://${username}@`);
        const report = await fetchOne(url, { sshPrivateKeyPath: undefined, basicAuthUsername: username, basicAuthPassword: password });
        expect(report.errorReport.code).toBe('NECTAR_PERMISSION');
      });
    });
  });

  describe('host keys', () => {
    it('fails a server missing from known_hosts with NECTAR_TLS, naming its fingerprint', async () => {
      const file = await publish(100);
      const empty = join(folder, 'empty_known_hosts');
      await writeFile(empty, '');
      const report = await fetchOne(file.url, { sshKnownHostsPath: empty });
      expect(report.state).toBe('failed');
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_TLS', reason: 'host-key-unknown', fingerprint: fixture.hostKeyFingerprint });
      expect(String(report.errorReport.message)).toContain(fixture.hostKeyFingerprint);
    });

    it('fails a server whose key differs from known_hosts (host-key-mismatch)', async () => {
      const file = await publish(100);
      const other = join(folder, 'other_known_hosts');
      const keys = await mkdtemp(join(tmpdir(), 'nectar-sftp-key-'));
      const impostor = await generateKeyPair(join(keys, 'impostor'));
      await rm(keys, { recursive: true, force: true });
      await writeFile(other, `[127.0.0.1]:${fixture.port} ${impostor.publicLine}\n`);
      const report = await fetchOne(file.url, { sshKnownHostsPath: other });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_TLS', reason: 'host-key-mismatch' });
    });

    it('accepts a pinned fingerprint and rejects a wrong one', async () => {
      const file = await publish(100);
      const pinned = { sshKnownHostsPath: undefined, sshHostKeyFingerprint: fixture.hostKeyFingerprint };
      expect((await fetchOne(file.url, pinned)).state).toBe('succeeded');
      const wrong = { sshKnownHostsPath: undefined, sshHostKeyFingerprint: `SHA256:${'A'.repeat(43)}` };
      expect((await fetchOne(file.url, wrong)).errorReport).toMatchObject({ code: 'NECTAR_TLS', reason: 'host-key-fingerprint' });
    });

    it('skips host-key verification only with sslValidation: false', async () => {
      const file = await publish(100);
      const empty = join(folder, 'still_empty_known_hosts');
      await writeFile(empty, '');
      expect((await fetchOne(file.url, { sshKnownHostsPath: empty, sslValidation: false })).state).toBe('succeeded');
    });

    it('fails TLS-only trust settings as not supported, naming the field', async () => {
      const file = await publish(100);
      const report = await fetchOne(file.url, { sslCaCert: '-----BEGIN CERTIFICATE-----' });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', field: 'sslCaCert' });
    });
  });

  describe('config checks at construction', () => {
    it.each([
      [{ sshPrivateKey: 'x', sshPrivateKeyPath: '/k' }, 'sshPrivateKeyPath'],
      [{ sshHostKeyFingerprint: 'MD5:aa' }, 'sshHostKeyFingerprint'],
      [{ sshHostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, sslValidation: false }, 'sslValidation'],
      [{ sshHostKeyFingerprint: `SHA256:${'A'.repeat(43)}`, sshKnownHostsPath: '/k' }, 'sshKnownHostsPath'],
      [{ sshConnectionsPerHost: 0 }, 'sshConnectionsPerHost'],
      [{ sshIdleTimeout: -1 }, 'sshIdleTimeout'],
      [{ sshAgent: 42 }, 'sshAgent'],
      [{ sshPrivateKeyPath: ['/k', ''] }, 'sshPrivateKeyPath[1]'],
      [{ sshPrivateKeyPath: 42 }, 'sshPrivateKeyPath'],
      [{ sshPrivateKey: ['x', Buffer.alloc(0)] }, 'sshPrivateKey[1]'],
    ])('rejects %j naming %s', (config, field) => {
      expect(() => new SftpDownloader(config as DownloaderConfigInput)).toThrow(expect.objectContaining({ code: 'NECTAR_INVALID_CONFIG', message: expect.stringContaining(field) }));
    });
  });

  describe('failures', () => {
    it('fails a missing file with NECTAR_NOT_FOUND, not retried', async () => {
      const report = await fetchOne(fixture.missingUrl('absent.bin'), { retries: 3, retryDelay: 1 });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_FOUND', attempts: 1 });
    });

    it('fails a folder as not a file', async () => {
      await mkdir(join(fixture.root, 'a-folder'), { recursive: true });
      const report = await fetchOne(fixture.url('a-folder'));
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_FOUND', reason: 'not-a-file' });
    });

    it('fails an unreachable host with NECTAR_CONNECT, retried', async () => {
      const report = await fetchOne(fixture.unreachableUrl(), { retries: 1, retryDelay: 1 });
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_CONNECT', attempts: 2 });
    });
  });

  describe('connections', () => {
    it('runs several files in flight over a few reused connections', async () => {
      const files = await Promise.all(Array.from({ length: 12 }, () => publish(200_000)));
      const d = downloader({ maxConcurrent: 6, sshConnectionsPerHost: 3 });
      const before = fixture.logins;
      const first = await d.download(files.map((f, i) => new DownloadRequest(f.url, join(folder, `many-a${i}`))));
      expect(first.every((r) => r.state === 'succeeded')).toBe(true);
      const opened = fixture.logins - before;
      expect(opened).toBeGreaterThanOrEqual(1);
      expect(opened).toBeLessThanOrEqual(3);
      expect(await fixture.connections()).toBe(opened);
      const second = await d.download(files.map((f, i) => new DownloadRequest(f.url, join(folder, `many-b${i}`))));
      expect(second.every((r) => r.state === 'succeeded')).toBe(true);
      expect(fixture.logins - before).toBe(opened);
      // toEqual walks a Buffer byte by byte: seconds for a few MB.
      for (const [i, f] of files.entries()) expect((await readFile(join(folder, `many-b${i}`))).equals(f.body)).toBe(true);
    });

    it('multiplexes every transfer over one connection when asked to', async () => {
      const files = await Promise.all(Array.from({ length: 6 }, () => publish(100_000)));
      const before = fixture.logins;
      const reports = await downloader({ maxConcurrent: 6, sshConnectionsPerHost: 1 }).download(files.map((f, i) => new DownloadRequest(f.url, join(folder, `one${i}`))));
      expect(reports.every((r) => r.state === 'succeeded')).toBe(true);
      expect(fixture.logins - before).toBe(1);
    });

    it('closes idle connections after sshIdleTimeout', async () => {
      const file = await publish(1000);
      const d = downloader({ sshIdleTimeout: 200 });
      await d.download([new DownloadRequest(file.url, join(folder, 'idle'))]);
      expect(await fixture.connections()).toBe(1);
      await sleep(600);
      expect(await fixture.connections()).toBe(0);
    });

    it('leaves no handle open after close()', async () => {
      const baseline = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length;
      const files = await Promise.all(Array.from({ length: 4 }, () => publish(50_000)));
      const d = new SftpDownloader({ ...fixture.config, maxConcurrent: 4, sshIdleTimeout: 0 });
      await d.download(files.map((f, i) => new DownloadRequest(f.url, join(folder, `h${i}`))));
      expect(process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length).toBeGreaterThan(baseline);
      await d.close();
      await sleep(50);
      expect(process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).length).toBe(baseline);
      expect(await fixture.connections()).toBe(0);
    });

    it('resumes from the bytes already written when a connection drops mid-transfer', async () => {
      // Big enough to be mid-transfer when the drop lands, without maxSpeed (see README: core's
      // sink may still finish a throttled write after an attempt failed).
      const file = await publish(32 * 1024 * 1024);
      const afterDrop: number[] = [];
      let dropped = false;
      const d = downloader({ retries: 2, retryDelay: 10 }, {
        downloadProgress(report: DownloadReport) {
          if (dropped) afterDrop.push(report.bytesDownloaded);
          if (!dropped && report.bytesDownloaded > 1024 * 1024) {
            dropped = true;
            void fixture.dropConnections();
          }
        },
      });
      const dest = join(folder, 'resumed.bin');
      const [report] = await d.download([new DownloadRequest(file.url, dest)]);
      expect(report?.state).toBe('succeeded');
      expect(report?.attempts).toBeGreaterThanOrEqual(2);
      // A restart would report 0 bytes again; a resume continues from what is on disk.
      expect(Math.min(...afterDrop)).toBeGreaterThan(0);
      expect((await readFile(dest)).equals(file.body)).toBe(true);
    });
  });

  it('registers for sftp: URLs in a registry', async () => {
    const file = await publish(2000);
    const registry = new DownloaderRegistry();
    register(registry);
    const d = registry.create({ ...fixture.config, retries: 0 } as never);
    try {
      const [report] = await d.download([new DownloadRequest(file.url, join(folder, 'registry'))]);
      expect(report?.state).toBe('succeeded');
    } finally {
      await d.close();
    }
    // A backend object: the registry builds no downloader (and no pool) per scheme.
    expect((await registry.resolve('sftp'))(new DownloaderConfig())).not.toBeInstanceOf(Downloader);
  });

  it('serves as a backend object composed by core, reading the config when opened', async () => {
    const file = await publish(2000);
    const d = new ComposedDownloader(sftpBackend(), { ...fixture.config, retries: 0 } as DownloaderConfigInput);
    try {
      const [report] = await d.download([new DownloadRequest(file.url, join(folder, 'composed'))]);
      expect(report?.state).toBe('succeeded');
      expect((await readFile(join(folder, 'composed'))).equals(file.body)).toBe(true);
    } finally {
      await d.close();
    }
  });
});
