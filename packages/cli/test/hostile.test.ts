import { randomBytes } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CliIo } from '../src/io.js';
import { main } from '../src/main.js';
import { type CliResult, runCli, startCli, tempDir } from './cli-process.js';

// Signals, kill -9, secrets and bad input: the CLI as an impatient user, a service manager and
// an attacker's URL list drive it. Each case runs the built command against real servers.

const medium = randomBytes(300_000);
const small = randomBytes(10_000);
let http: HttpFixture;
let urls: { medium: string; small: string };
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  http = httpFixture();
  await http.start();
  urls = { medium: await http.publish('medium.bin', medium), small: await http.publish('small.bin', small) };
});
afterAll(() => http.stop());
beforeEach(async () => {
  http.reset();
  dir = await tempDir();
});
afterEach(() => dir.remove());

const ls = (path: string) => readdir(path).then((names) => names.sort());
/** Part files, their sidecars and locks: what a clean run never leaves behind. */
const leftovers = (path: string) => ls(path).then((names) => names.filter((name) => name.includes('nectar-part')));
const output = (result: CliResult) => `${result.stdout}${result.stderr}`;
/** What a crash prints: stack frames. */
const STACK = /^\s+at /m;

/** Resolves once the download has written bytes into its part file. */
async function partHasBytes(name: string): Promise<void> {
  const path = join(dir.path, `.${name}.nectar-part`);
  for (let tries = 0; tries < 200; tries++) {
    const size = await stat(path).then((s) => s.size, () => 0);
    if (size > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${path} never got bytes`);
}

describe('SIGTERM and SIGHUP', () => {
  it.each([
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const)('%s cancels like Ctrl-C: no part file, the summary, exit %i', async (signal, status) => {
    const cli = startCli([http.slowUrl('medium.bin', 50_000), http.slowUrl('small.bin', 2_000), '-d', dir.path]);
    await cli.waitForStderr(/started .*small\.bin/);
    await cli.waitForStderr(/started .*medium\.bin/);
    await partHasBytes('medium.bin');
    cli.process.kill(signal);
    const result = await cli.done;
    expect(result.code).toBe(status);
    expect(result.stderr).toContain(`interrupted by ${signal}: canceling downloads`);
    expect(result.stderr).toMatch(/^interrupted: 0 succeeded, 0 failed, 2 canceled/m);
    expect(await ls(dir.path)).toEqual([]);
  });

  it('SIGHUP from a closed terminal still cleans up: stdout and stderr gone, no crash', async () => {
    const cli = startCli([http.slowUrl('medium.bin', 50_000), '-d', dir.path]);
    await cli.waitForStderr(/started /);
    await partHasBytes('medium.bin');
    // Every line the run prints from now on fails with EPIPE, as it would with EIO on a dead TTY.
    cli.process.stdout?.destroy();
    cli.process.stderr?.destroy();
    cli.process.kill('SIGHUP');
    expect((await cli.done).code).toBe(129);
    expect(await ls(dir.path)).toEqual([]);
  });

  it('a second signal quits at once with its own status', async () => {
    const signals = new EventEmitter();
    const exits: number[] = [];
    const stderr = new PassThrough();
    let printed = '';
    stderr.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const io: CliIo = { stdout: new PassThrough(), stderr, stdin: Readable.from([]), cwd: dir.path, signals, exit: (code) => exits.push(code) };
    const run = main([http.slowUrl('medium.bin', 50_000), '-d', dir.path], io);
    await partHasBytes('medium.bin');
    signals.emit('SIGTERM');
    signals.emit('SIGHUP');
    expect(exits).toEqual([129]);
    // In-process, exit() did not end anything: the first signal's cancel finishes the run.
    expect(await run).toBe(143);
    expect(printed).toContain('SIGTERM again to quit at once');
  });
});

describe('after kill -9, the next run to the same destination succeeds', () => {
  /** Starts a download of medium.bin, SIGKILLs it once bytes are on disk, and checks it left a part. */
  async function killedRun(...args: string[]): Promise<void> {
    const cli = startCli([http.slowUrl('medium.bin', 150_000), ...args, '-d', dir.path]);
    await cli.waitForStderr(/started /);
    await partHasBytes('medium.bin');
    cli.process.kill('SIGKILL');
    expect((await cli.done).code).toBe(null);
    expect(await leftovers(dir.path)).toContain('.medium.bin.nectar-part');
  }

  it('a plain run', async () => {
    await killedRun();
    const again = await runCli([urls.medium, '-d', dir.path]);
    expect(output(again)).not.toMatch(STACK);
    expect(again.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(await leftovers(dir.path)).toEqual([]);
  });

  it('-f overwrites, the old file and the dead run’s part alike', async () => {
    await writeFile(join(dir.path, 'medium.bin'), 'old');
    await killedRun('-f');
    const again = await runCli([urls.medium, '-f', '-d', dir.path]);
    expect(again.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(await leftovers(dir.path)).toEqual([]);
  });

  it('-c completes the dead run’s part', async () => {
    await killedRun('-c');
    const again = await runCli([http.slowUrl('medium.bin', 150_000), '-c', '-d', dir.path]);
    expect(again.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(await leftovers(dir.path)).toEqual([]);
  });

  it('-c completes a part even when an older file is in the way, rather than skip it', async () => {
    await writeFile(join(dir.path, 'medium.bin'), 'old');
    await killedRun('-f');
    const again = await runCli([urls.medium, '-c', '-d', dir.path]);
    expect(again.code).toBe(0);
    expect(again.stderr).not.toMatch(/skipped/);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(await leftovers(dir.path)).toEqual([]);
  });
});

describe('-c with a kept part beside an existing file', () => {
  it('resumes the part and replaces the file, rather than skip it', async () => {
    // -f -c over an old file, interrupted: the old file stays and the part is kept for a resume.
    await writeFile(join(dir.path, 'medium.bin'), 'old');
    const slow = http.slowUrl('medium.bin', 150_000);
    const cli = startCli([slow, '-f', '-c', '-d', dir.path]);
    await cli.waitForStderr(/started /);
    await partHasBytes('medium.bin');
    cli.process.kill('SIGINT');
    expect((await cli.done).code).toBe(130);
    expect(await readFile(join(dir.path, 'medium.bin'), 'utf8')).toBe('old');
    http.reset();
    const again = await runCli([slow, '-c', '-d', dir.path]);
    expect(again.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(http.received.find((r) => r.url.startsWith('/files/medium.bin'))?.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(await leftovers(dir.path)).toEqual([]);
    // Finished, with no part beside it: -c leaves it alone again.
    const third = await runCli([slow, '-c', '-d', dir.path]);
    expect(third.code).toBe(0);
    expect(third.stderr).toMatch(/^skipped .*medium\.bin \(exists\)$/m);
  });
});

/** A server whose every answer is a redirect to `location`. */
async function redirectServer(location: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const server = createServer((_, res) => res.writeHead(302, { location }).end());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/signed.bin`,
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('no secret in any output', () => {
  const SECRET = 'Zq8secretXv';
  const closedPort = () => new URL(http.unreachableUrl()).port;

  it('URL, proxy and credential passwords, typed with or without a scheme, parseable or not', async () => {
    const missing = http.missingUrl().replace('http://', `http://ann:${SECRET}@`);
    const runs = await Promise.all([
      // A URL password in a failing download: started, failed, summary, --json.
      runCli([missing, '--json', '--retry', '0', '-d', dir.path]),
      // A URL typed without its scheme, on the command line and in a list.
      // Folders of their own: runs writing one destination at once would meet its part-file lock.
      runCli([`ann:${SECRET}@127.0.0.1:${http.port}/files/small.bin`, '--json', '-d', join(dir.path, 'r1')]),
      runCli(['-i', '-', '--json', '-d', dir.path], { input: `ann:${SECRET}@127.0.0.1:1/x\nhttp://ann:${SECRET}@[::1/x\n` }),
      // A malformed URL: a usage error quotes it.
      runCli([`http://ann:${SECRET}@[::1/x`]),
      runCli([`ann:${SECRET}@[bad`]),
      // Proxies: without a scheme (used, and failing to connect), malformed, with --proxy-user.
      runCli([urls.small, '-x', `ann:${SECRET}@127.0.0.1:${closedPort()}`, '--retry', '0', '--json', '-d', join(dir.path, 'r5')]),
      runCli([urls.small, '-x', `ann:${SECRET}@[bad`, '-d', dir.path]),
      runCli([urls.small, '-x', `http://ann:${SECRET}@[bad`, '-d', dir.path]),
      runCli([urls.small, '-x', `127.0.0.1:${closedPort()}`, '--proxy-user', `ann:${SECRET}`, '--retry', '0', '--json', '-d', join(dir.path, 'r8')]),
      // -u with a download that fails, and with a usage error after it.
      runCli([http.missingUrl(), '-u', `ann:${SECRET}`, '--retry', '0', '--json', '-d', dir.path]),
      runCli([http.missingUrl(), '-u', `ann:${SECRET}`, '--bogus']),
      runCli([http.missingUrl(), `--user=ann:${SECRET}`, '-H', `Authorization: Bearer ${SECRET}\r\nX-Evil: 1`]),
    ]);
    for (const result of runs) expect(output(result)).not.toContain(SECRET);
    // The proxy without a scheme was taken as http://, as curl does, and tried.
    expect(runs[5]?.stderr).toMatch(/via proxy http:\/\/127\.0\.0\.1:\d+\/.*NECTAR_CONNECT/);
    expect(runs[1]?.stderr).toContain('ann:***@127.0.0.1');
  });

  it('an SSH key passphrase, typed or from the environment, with a failing sftp: URL and with a usage error', async () => {
    const sftp = `sftp://127.0.0.1:${closedPort()}/x`;
    const runs = await Promise.all([
      runCli([sftp, '--ssh-key-passphrase', SECRET, '--retry', '0', '--json', '-d', join(dir.path, 's1')]),
      runCli([sftp, '--retry', '0', '--json', '-d', join(dir.path, 's2')], { env: { NECTAR_SSH_PASSPHRASE: SECRET } }),
      runCli([http.missingUrl(), `--ssh-key-passphrase=${SECRET}`, '--bogus']),
    ]);
    for (const result of runs) expect(output(result)).not.toContain(SECRET);
    expect(runs.map((r) => r.code)).toEqual([4, 4, 2]);
  });

  it('token query parameters, typed or from a redirect', async () => {
    const tokens = `token=${SECRET}1&X-Amz-Signature=${SECRET}2&sig=${SECRET}3&access_token=${SECRET}4&api_key=${SECRET}5`;
    // A signed URL the user never typed: only the server's Location header holds it.
    const redirect = await redirectServer(`${http.missingUrl()}?X-Goog-Signature=${SECRET}6`);
    const runs = await Promise.all([
      runCli([`${http.missingUrl()}?${tokens}`, redirect.url, '--json', '--retry', '0', '-d', dir.path]).finally(redirect.stop),
      runCli(['-i', '-', '--json', '-d', dir.path], { input: `127.0.0.1:1/x?${tokens}\nhttp://[bad/x?key=${SECRET}7\n` }),
      runCli([`127.0.0.1:1/x?password=${SECRET}8`]),
    ]);
    for (const result of runs) expect(output(result)).not.toContain(SECRET);
    expect(runs[0]?.stdout).toContain('token=***');
    expect(runs[0]?.stderr).toContain('X-Goog-Signature=***');
  });
});

describe('bad input never crashes with a stack trace', () => {
  it('-d naming a file is a usage error', async () => {
    await writeFile(join(dir.path, 'a-file'), 'mine');
    for (const folder of ['a-file', 'a-file/below']) {
      const result = await runCli([urls.small, '-d', folder], { cwd: dir.path });
      expect(result.code).toBe(2);
      expect(result.stderr).toMatch(/^nectar: -d a-file.*: cannot use .* as the folder: a file is in the way$/m);
      expect(result.stderr).not.toMatch(STACK);
    }
    expect(await readFile(join(dir.path, 'a-file'), 'utf8')).toBe('mine');
  });

  it('-i naming a folder is a usage error', async () => {
    const result = await runCli(['-i', '.', '-d', 'out'], { cwd: dir.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^nectar: cannot read the list \.: it is a folder$/m);
    expect(result.stderr).not.toMatch(STACK);
  });

  it('a list that fails while being read ends the run after what it read, with status 2', async () => {
    const stdin = new Readable({ read() {} });
    stdin.push(`${urls.small}\n`);
    const stderr = new PassThrough();
    let printed = '';
    stderr.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const io: CliIo = { stdout: new PassThrough(), stderr, stdin, cwd: dir.path, signals: new EventEmitter(), exit: () => {} };
    const run = main(['-i', '-', '-d', dir.path], io);
    setTimeout(() => stdin.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })), 300);
    expect(await run).toBe(2);
    expect(printed).toMatch(/^nectar: cannot read the list from stdin: EIO: i\/o error, read$/m);
    expect(printed).toMatch(/^1 succeeded, 0 failed, 0 canceled/m);
    expect(printed).not.toMatch(STACK);
    expect(await readFile(join(dir.path, 'small.bin'))).toEqual(small);
  });

  it('garbage lines in a list fail alone, printed without their control characters', async () => {
    const garbage = ['not a url', '\u001b[2J\u001b[31mred\u0007', 'http://[bad', ':::', '%zz', 'http://h:99999/x', 'ftp://127.0.0.1/x', 'http:'];
    await writeFile(join(dir.path, 'list.txt'), [...garbage, urls.small, '\u0000\u0001'].join('\n'));
    const result = await runCli(['-i', 'list.txt', '-d', 'out'], { cwd: dir.path });
    expect(result.code).toBe(1);
    expect(await ls(join(dir.path, 'out'))).toEqual(['small.bin']);
    expect(result.stderr).toMatch(/1 succeeded, 9 failed, 0 canceled/);
    expect(result.stderr).toContain('failed   \\u001b[2J\\u001b[31mred\\u0007: not an absolute URL');
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters
    expect(output(result)).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(output(result)).not.toMatch(STACK);
  });

  it.each([
    ['CR LF', 'X-Trace: a\r\nX-Evil: 1', /X-Trace/],
    ['a control character', 'X-Trace: a\u0001b', /X-Trace/i],
    ['a character beyond Latin-1', 'X-Trace: €uro', /X-Trace/i],
    ['CR LF in the name', 'X-\r\nEvil: 1', /header/],
  ])('-H with %s is a usage error naming the header', async (_, header, names) => {
    const result = await runCli([urls.small, '-H', header, '-d', dir.path]);
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toMatch(names);
    expect(result.stderr).toContain('Usage: nectar [get] URL...');
    expect(result.stderr).not.toMatch(STACK);
    expect(http.received).toEqual([]);
  });
});
