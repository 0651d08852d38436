import { once } from 'node:events';
import { readFile, readdir, stat, utimes, writeFile } from 'node:fs/promises';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/exit-codes.js';
import { parseNetrc } from '../src/netrc.js';
import { runCli, tempDir } from './cli-process.js';

// curl and wget habits, run through the built command against a real server on 127.0.0.1.

const text = `${'nectar writes this body to stdout\n'.repeat(3000)}`;
let http: HttpFixture;
let urls: { text: string };
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  http = httpFixture();
  await http.start();
  urls = { text: await http.publish('body.txt', Buffer.from(text)) };
});
afterAll(() => http.stop());
beforeEach(async () => {
  http.reset();
  dir = await tempDir();
});
afterEach(() => dir.remove());

describe('-o -', () => {
  it('writes the body to stdout, and nothing else there; no file named -', async () => {
    const result = await runCli([urls.text, '-o', '-'], { cwd: dir.path });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(text);
    expect(await readdir(dir.path)).toEqual([]);
    expect(result.stderr).toMatch(/done +\S+ -> stdout/);
  });

  it('refuses --json beside it: the reports would corrupt the body', async () => {
    const result = await runCli([urls.text, '-o', '-', '--json'], { cwd: dir.path });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('--json cannot share it');
  });
});

describe('exit status per cause', () => {
  it.each([
    ['/status/401', EXIT.auth],
    ['/status/407', EXIT.auth],
    ['/status/403', EXIT.serverError],
    ['/status/500', EXIT.serverError],
    ['/status/410', EXIT.notFound],
    ['/files/missing.bin', EXIT.notFound],
  ])('%s exits %i', async (path, status) => {
    const result = await runCli([http.url(path), '--retry', '0', '-d', dir.path]);
    expect(result.code).toBe(status);
  });

  it('names the lowest cause of several failures, whatever order they settle in', async () => {
    const urls = [http.url('/status/500'), http.url('/status/401'), http.missingUrl()];
    const forward = await runCli([...urls, '--retry', '0', '-d', dir.path]);
    const backward = await runCli([...urls.reverse(), '--retry', '0', '-d', dir.path]);
    expect([forward.code, backward.code]).toEqual([EXIT.auth, EXIT.auth]);
  });

  it('a local I/O failure is 3 and beats a not-found', async () => {
    await writeFile(join(dir.path, 'body.txt'), 'mine');
    const result = await runCli([urls.text, http.missingUrl(), '--retry', '0', '-d', dir.path]);
    expect(result.code).toBe(EXIT.destination);
  });

  it('every status is in the README table', async () => {
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const status of Object.values(EXIT)) expect(readme).toMatch(new RegExp(`^\\| ${status} \\|`, 'm'));
  });
});

describe('-N, --timestamping', () => {
  const modified = new Date('2024-05-01T12:00:00Z');
  let server: Server;
  let url: string;
  const seen: Array<string | undefined> = [];

  beforeAll(async () => {
    // Answers If-Modified-Since as a static file server does, with the file's Last-Modified.
    server = createServer((req, res) => {
      seen.push(req.headers['if-modified-since']);
      const since = Date.parse(req.headers['if-modified-since'] ?? '');
      if (!Number.isNaN(since) && since >= modified.getTime()) return res.writeHead(304).end();
      res.writeHead(200, { 'Last-Modified': modified.toUTCString(), 'Content-Length': 6 }).end('fresh\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/stamped.txt`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
  });

  it('downloads a missing file and gives it the server Last-Modified as mtime', async () => {
    const result = await runCli([url, '-N', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(seen).toEqual([undefined]);
    expect((await stat(join(dir.path, 'stamped.txt'))).mtime.getTime()).toBe(modified.getTime());
  });

  it('leaves a file the server has not changed untouched (same inode and mtime), reported as unchanged', async () => {
    const path = join(dir.path, 'stamped.txt');
    await writeFile(path, 'mine\n');
    const mine = new Date('2025-01-01T00:00:00Z');
    await utimes(path, mine, mine);
    const before = await stat(path);
    const result = await runCli([url, '-N', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(seen).toEqual([mine.toUTCString()]);
    const after = await stat(path);
    expect([after.ino, after.mtime.getTime()]).toEqual([before.ino, before.mtime.getTime()]);
    expect(await readFile(path, 'utf8')).toBe('mine\n');
    expect(result.stderr).toMatch(/unchanged .*stamped\.txt \(not modified on the server\)/);
    expect(result.stderr).toMatch(/0 failed.*1 unchanged/);
    expect(await readdir(dir.path)).toEqual(['stamped.txt']);
  });

  it('replaces an older file with the newer one, which gets the server Last-Modified', async () => {
    const path = join(dir.path, 'stamped.txt');
    await writeFile(path, 'old\n');
    const old = new Date('2020-01-01T00:00:00Z');
    await utimes(path, old, old);
    const result = await runCli([url, '-N', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(seen).toEqual([old.toUTCString()]);
    expect(await readFile(path, 'utf8')).toBe('fresh\n');
    expect((await stat(path)).mtime.getTime()).toBe(modified.getTime());
  });
});

describe('--netrc, --netrc-file', () => {
  const password = 'n3trc-s3cret';
  let auth: HttpFixture;
  let url: string;
  beforeAll(async () => {
    auth = httpFixture({ auth: { username: 'ann', password } });
    await auth.start();
    await auth.publish('private.bin', Buffer.from('private\n'));
    url = auth.url('/auth/files/private.bin');
  });
  afterAll(() => auth.stop());

  const netrc = (text: string, name = 'netrc') => writeFile(join(dir.path, name), text).then(() => join(dir.path, name));

  it('sends the login and password of the machine entry for the URL host, never printing them', async () => {
    const file = await netrc(`machine other.example login bob password nope\nmachine 127.0.0.1\n  login ann\n  password "${password}"\n`);
    const result = await runCli([url, '--netrc-file', file, '--json', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'private.bin'), 'utf8')).toBe('private\n');
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });

  it('reads ~/.netrc with --netrc, and its default entry', async () => {
    await netrc(`macdef init\n  login nobody password x\n\ndefault login ann password ${password}\n`, '.netrc');
    // The child copies the environment when it is spawned, synchronously inside runCli().
    const home = process.env.HOME;
    process.env.HOME = dir.path;
    const running = runCli([url, '--netrc', '-d', dir.path]);
    process.env.HOME = home;
    const result = await running;
    expect(result.code).toBe(0);
  });

  it('sends nothing to a host the file does not name: 401, exit 6, no password shown', async () => {
    const file = await netrc(`machine elsewhere.example login ann password ${password}\n`);
    const result = await runCli([url, '--netrc-file', file, '--retry', '0', '-d', dir.path]);
    expect(result.code).toBe(EXIT.auth);
    expect(`${result.stdout}${result.stderr}`).not.toContain(password);
  });

  it('parses as curl does: first entry per host and user, quoted words, macdef skipped, default last', () => {
    const netrc = parseNetrc(
      'machine h login a password "p w\\"x"\nmacdef m\nmachine h login evil password e\n\nmachine H login b password q account z\ndefault login d password r',
    );
    expect(netrc.find('h')).toEqual({ login: 'a', password: 'p w"x' });
    expect(netrc.find('h', 'b')).toEqual({ login: 'b', password: 'q' });
    expect(netrc.find('h', 'evil')).toBeUndefined();
    expect(netrc.find('other')).toEqual({ login: 'd', password: 'r' });
    expect(netrc.passwords).toEqual(['p w"x', 'q', 'r']);
  });

  it('a missing --netrc-file is a usage error', async () => {
    const result = await runCli([url, '--netrc-file', join(dir.path, 'none'), '-d', dir.path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read the netrc file');
  });
});
