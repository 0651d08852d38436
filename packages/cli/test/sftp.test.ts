import { spawn, spawnSync } from 'node:child_process';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SftpConfigOptions } from '@nectar/sftp';
import { type SftpFixture, sftpFixture, sshdSkipReason } from '@nectar/sftp/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SshConfigFields } from '../src/config.js';
import { runCli, tempDir } from './cli-process.js';
import { type PacedServer, pacedServer } from './paced-server.js';

// The CLI's ssh fields must stay fields @nectar/sftp reads: this line stops compiling otherwise.
const fieldsFit: SftpConfigOptions = {} as SshConfigFields;
void fieldsFit;

const skip = sshdSkipReason();

describe.skipIf(skip !== null)(`nectar get sftp: against OpenSSH${skip === null ? '' : ` (skipped: ${skip})`}`, () => {
  const fixture: SftpFixture = sftpFixture();
  const body = Buffer.from('served over sftp\n'.repeat(1000));
  let url: string;
  let dir: { path: string; remove: () => Promise<void> };
  /** A home with no ~/.ssh: no default key, no known_hosts, unless a test puts them there. */
  let home: string;

  beforeAll(async () => {
    await fixture.start();
    url = await fixture.publish('served.txt', body);
  }, 30_000);
  afterAll(() => fixture.stop());
  beforeEach(async () => {
    dir = await tempDir();
    home = join(dir.path, 'home');
    await mkdir(home);
  });
  afterEach(() => dir.remove());

  const get = (args: readonly string[], env: Record<string, string | undefined> = {}) =>
    runCli([...args, '--retry', '0', '-d', join(dir.path, 'out')], { env: { HOME: home, SSH_AUTH_SOCK: undefined, ...env } });
  const saved = () => readFile(join(dir.path, 'out', 'served.txt'));

  it('logs in with --ssh-key, trusting the host keys of --known-hosts', async () => {
    const result = await get([url, '--ssh-key', fixture.clientKeyPath, '--known-hosts', fixture.knownHostsPath]);
    expect(result.stderr).toMatch(/1 succeeded, 0 failed/);
    expect(result.code).toBe(0);
    expect(await saved()).toEqual(body);
  });

  /** A key pair the server does not know (its login is refused). */
  function strangerKey(): string {
    const path = join(dir.path, 'stranger');
    const made = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    return path;
  }

  async function defaultKeys(keys: Record<string, string>): Promise<void> {
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    for (const [name, from] of Object.entries(keys)) await copyFile(from, join(home, '.ssh', name));
    await copyFile(fixture.knownHostsPath, join(home, '.ssh', 'known_hosts'));
  }

  it('without --ssh-key, tries the default keys under ~/.ssh in turn (a refused id_rsa, then id_ed25519), and ~/.ssh/known_hosts', async () => {
    await defaultKeys({ id_rsa: strangerKey(), id_ecdsa: fixture.encryptedClientKeyPath, id_ed25519: fixture.clientKeyPath });
    const result = await get([url]);
    expect(result.stderr).toMatch(/1 succeeded, 0 failed/);
    expect(result.code).toBe(0);
    expect(await saved()).toEqual(body);
  });

  it('skips an encrypted default key without a passphrase, and uses it with $NECTAR_SSH_PASSPHRASE', async () => {
    await defaultKeys({ id_ed25519: fixture.encryptedClientKeyPath });
    const skipped = await get([url]);
    expect(skipped.code).toBe(6);
    const result = await get([url], { NECTAR_SSH_PASSPHRASE: fixture.clientKeyPassphrase });
    expect(result.stderr).toMatch(/1 succeeded, 0 failed/);
    expect(result.code).toBe(0);
    expect(await saved()).toEqual(body);
  });

  it('tries each --ssh-key in turn: the first refused, the second accepted', async () => {
    const result = await get([url, '--ssh-key', strangerKey(), '--ssh-key', fixture.clientKeyPath, '--known-hosts', fixture.knownHostsPath]);
    expect(result.stderr).toMatch(/1 succeeded, 0 failed/);
    expect(result.code).toBe(0);
  });

  it('opens an encrypted --ssh-key with --ssh-key-passphrase; a wrong one names the key file and never shows the passphrase', async () => {
    const key = ['--ssh-key', fixture.encryptedClientKeyPath, '--known-hosts', fixture.knownHostsPath];
    const ok = await get([url, ...key, '--ssh-key-passphrase', fixture.clientKeyPassphrase]);
    expect(ok.code).toBe(0);
    const wrong = 'wrong-phrase-c0ffee';
    for (const [args, env] of [
      [['--ssh-key-passphrase', wrong], {}],
      [[], { NECTAR_SSH_PASSPHRASE: wrong }],
    ] as const) {
      const result = await get([url, ...key, ...args, '--json', '-f'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`does not decrypt ${fixture.encryptedClientKeyPath}: wrong passphrase`);
      expect(result.stderr).toMatch(/NECTAR_INVALID_CONFIG/);
      expect(JSON.parse(result.stdout)).toMatchObject({ state: 'failed', errorReport: { reason: 'passphrase-wrong', keyFile: fixture.encryptedClientKeyPath } });
      expect(result.stdout + result.stderr).not.toContain(wrong);
    }
  });

  it('refuses an empty --ssh-key-passphrase (usage error, 2)', async () => {
    const result = await get([url, '--ssh-key-passphrase', '']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--ssh-key-passphrase must not be empty/);
  });

  it('fails with the auth status (6) when no key and no agent can log in', async () => {
    const result = await get([url, '--known-hosts', fixture.knownHostsPath]);
    expect(result.code).toBe(6);
    expect(result.stderr).toMatch(/NECTAR_AUTH/);
  });

  it('logs in through the agent with --ssh-agent, and only when asked', async () => {
    const socket = join(dir.path, 'agent.sock');
    const agent = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await waitFor(async () => spawnSync('ssh-add', ['-l'], { env: { ...process.env, SSH_AUTH_SOCK: socket } }).status !== 2);
      const added = spawnSync('ssh-add', [fixture.clientKeyPath], { env: { ...process.env, SSH_AUTH_SOCK: socket }, encoding: 'utf8' });
      expect(added.status, added.stderr).toBe(0);
      const unasked = await get([url, '--known-hosts', fixture.knownHostsPath], { SSH_AUTH_SOCK: socket });
      expect(unasked.code).toBe(6);
      const result = await get([url, '--ssh-agent', '--known-hosts', fixture.knownHostsPath], { SSH_AUTH_SOCK: socket });
      expect(result.stderr).toMatch(/1 succeeded/);
      expect(result.code).toBe(0);
      expect(await saved()).toEqual(body);
    } finally {
      agent.kill();
    }
  });

  it('refuses a server whose host key --known-hosts does not hold (TLS status 5), and -k skips the check', async () => {
    const empty = join(dir.path, 'known_hosts');
    await writeFile(empty, '');
    const refused = await get([url, '--ssh-key', fixture.clientKeyPath, '--known-hosts', empty]);
    expect(refused.code).toBe(5);
    expect(refused.stderr).toMatch(/host key/i);
    const unchecked = await get([url, '--ssh-key', fixture.clientKeyPath, '-k']);
    expect(unchecked.code).toBe(0);
  });

  it('takes the ssh options in a run with http: URLs, which ignore them', async () => {
    const server: PacedServer = await pacedServer();
    try {
      const http = server.url('plain.bin', 5000, 1_000_000);
      const result = await get([http, url, '--ssh-key', fixture.clientKeyPath, '--known-hosts', fixture.knownHostsPath]);
      expect(result.stderr).toMatch(/2 succeeded, 0 failed/);
      expect(result.code).toBe(0);
    } finally {
      await server.stop();
    }
  });

  it('says how to start an agent when --ssh-agent finds none (usage error, 2)', async () => {
    const result = await get([url, '--ssh-agent']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--ssh-agent needs a running ssh-agent: SSH_AUTH_SOCK is not set/);
  });
});

async function waitFor(ready: () => Promise<boolean>, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > until) throw new Error('ssh-agent did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
