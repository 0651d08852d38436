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

  it('without --ssh-key, uses the first default key under ~/.ssh that needs no passphrase, and ~/.ssh/known_hosts', async () => {
    await mkdir(join(home, '.ssh'), { mode: 0o700 });
    // id_rsa comes first in ssh's order, but it is encrypted and nectar never prompts: id_ed25519 is used.
    await copyFile(fixture.encryptedClientKeyPath, join(home, '.ssh', 'id_rsa'));
    await copyFile(fixture.clientKeyPath, join(home, '.ssh', 'id_ed25519'));
    await copyFile(fixture.knownHostsPath, join(home, '.ssh', 'known_hosts'));
    const result = await get([url]);
    expect(result.code).toBe(0);
    expect(await saved()).toEqual(body);
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
