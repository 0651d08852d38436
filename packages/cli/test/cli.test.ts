import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type HttpFixture, fileFixture, httpFixture, tlsMaterial } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anyPathServer } from './any-path-server.js';
import { runCli, startCli, tempDir } from './cli-process.js';

const small = randomBytes(10_000);
const medium = randomBytes(300_000);
let http: HttpFixture;
let urls: { small: string; medium: string; other: string };
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  http = httpFixture({ auth: { username: 'user', password: 'secret' } });
  await http.start();
  urls = {
    small: await http.publish('small.bin', small),
    medium: await http.publish('medium.bin', medium),
    other: await http.publish('dir/other.txt', Buffer.from('other\n')),
  };
});
afterAll(() => http.stop());
beforeEach(async () => {
  http.reset();
  dir = await tempDir();
});
afterEach(() => dir.remove());

const ls = (path: string) => readdir(path).then((names) => names.sort());

describe('nectar get', () => {
  it('downloads several URLs into -d DIR and exits 0', async () => {
    const out = join(dir.path, 'out');
    const result = await runCli([urls.small, urls.medium, urls.other, '-d', out]);
    expect(result.code).toBe(0);
    expect(await ls(out)).toEqual(['medium.bin', 'other.txt', 'small.bin']);
    expect(await readFile(join(out, 'medium.bin'))).toEqual(medium);
    expect(result.stderr).toMatch(/3 succeeded, 0 failed, 0 canceled; 302\.\d KiB in/);
    expect(result.stdout).toBe('');
  });

  it('accepts the explicit get command and the current directory as default', async () => {
    const result = await runCli(['get', urls.small], { cwd: dir.path });
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'small.bin'))).toEqual(small);
  });

  it('saves one URL as -o FILE', async () => {
    const result = await runCli([urls.small, '-o', 'renamed.dat'], { cwd: dir.path });
    expect(result.code).toBe(0);
    expect(await ls(dir.path)).toEqual(['renamed.dat']);
  });

  it('reads -i LIST, skipping blank lines and comments', async () => {
    await writeFile(join(dir.path, 'list.txt'), `# my files\n${urls.small}\n\n   ${urls.other}  \n# ${urls.medium}\n`);
    const result = await runCli(['-i', 'list.txt', '-d', 'out'], { cwd: dir.path });
    expect(result.code).toBe(0);
    expect(await ls(join(dir.path, 'out'))).toEqual(['other.txt', 'small.bin']);
  });

  it('reads the list from stdin with -i -', async () => {
    const result = await runCli(['-i', '-', '-d', dir.path], { input: `${urls.small}\r\n${urls.medium}\r\n` });
    expect(result.code).toBe(0);
    expect(await ls(dir.path)).toEqual(['medium.bin', 'small.bin']);
  });

  it('gives duplicate names of one run .1, .2 suffixes', async () => {
    const result = await runCli([urls.small, `${urls.small}?again=1`, `${urls.small}?again=2`, '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(await ls(dir.path)).toEqual(['small.bin', 'small.bin.1', 'small.bin.2']);
  });

  it('exits with the lowest cause on mixed failures (4 network beats 9 not found), naming each reason once', async () => {
    const result = await runCli([urls.small, http.missingUrl(), http.unreachableUrl(), '--retry', '0', '-d', dir.path]);
    expect(result.code).toBe(4);
    expect(await ls(dir.path)).toEqual(['small.bin']);
    expect(result.stderr).toMatch(/1 succeeded, 2 failed, 0 canceled/);
    expect(result.stderr).toContain(`failed ${http.missingUrl()}: 404 Not Found (NECTAR_HTTP_STATUS)`);
    expect(result.stderr).toMatch(/NECTAR_HTTP_STATUS/);
    expect(result.stderr).toContain(`failed ${http.unreachableUrl()}:`);
    expect(result.stderr).toMatch(/NECTAR_CONNECT/);
    // Each failure line, live and in the summary, names its URL once.
    const failures = result.stderr.split('\n').filter((line) => /^\s*failed /.test(line));
    expect(failures).toHaveLength(4);
    for (const line of failures) {
      const url = [http.missingUrl(), http.unreachableUrl()].find((u) => line.includes(u));
      expect(line.split(url ?? 'no URL').length - 1).toBe(1);
    }
  });

  it('sends -u credentials and -H headers to the server', async () => {
    const url = http.url('/auth/files/small.bin');
    const result = await runCli([url, '-u', 'user:secret', '-H', 'X-Trace: abc', '-H', 'Accept: application/octet-stream', '-A', 'tester/1', '-d', dir.path]);
    expect(result.code).toBe(0);
    const request = http.received.find((r) => r.url === '/auth/files/small.bin');
    expect(request?.headers.authorization).toBe(`Basic ${Buffer.from('user:secret').toString('base64')}`);
    expect(request?.headers['x-trace']).toBe('abc');
    expect(request?.headers.accept).toBe('application/octet-stream');
    expect(request?.headers['user-agent']).toBe('tester/1');
    expect(result.stderr).not.toContain('secret');
  });

  it('slows down to --limit-rate', async () => {
    const started = Date.now();
    const result = await runCli([urls.medium, '--limit-rate', '150K', '-d', dir.path]);
    const seconds = (Date.now() - started) / 1000;
    expect(result.code).toBe(0);
    // 300 000 bytes at 153 600 B/s take about 1.95 s; generous bounds, as timing tests must be.
    expect(seconds).toBeGreaterThan(1.4);
    expect(seconds).toBeLessThan(10);
  });

  it('prints one JSON report per line with --json, with no password anywhere', async () => {
    const withPassword = http.url('/auth/files/small.bin').replace('http://', 'http://user:secret@');
    const result = await runCli([withPassword, http.missingUrl(), '--json', '-d', dir.path]);
    expect(result.code).toBe(9);
    const lines = result.stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const reports = lines.map((line) => JSON.parse(line) as { url: string; state: string; errorReport: { code?: string } });
    const ok = reports.find((r) => r.state === 'succeeded');
    expect(ok?.url).toBe(http.url('/auth/files/small.bin').replace('http://', 'http://user:***@'));
    expect(reports.find((r) => r.state === 'failed')?.errorReport.code).toBe('NECTAR_HTTP_STATUS');
    expect(result.stdout).not.toContain('secret');
    expect(result.stderr).not.toContain('secret');
    expect(result.stderr).toContain('user:***@');
  });

  it('never shows a URL password, even in a failure message', async () => {
    const withPassword = http.url('/auth/files/nothing.bin').replace('http://', 'http://user:secret@');
    const result = await runCli([withPassword, '--json', '-d', dir.path]);
    expect(result.code).toBe(9);
    expect(`${result.stdout}${result.stderr}`).not.toContain('secret');
  });

  it('writes plain lines without carriage returns or escape sequences when stderr is not a terminal', async () => {
    const result = await runCli([urls.small, urls.medium, http.missingUrl(), '-d', dir.path]);
    const output = `${result.stdout}${result.stderr}`;
    expect(output).not.toMatch(/\r/);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape sequences
    expect(output).not.toMatch(/\u001b/);
    expect(result.stderr).toMatch(/^started {2}http:\/\/127\.0\.0\.1:\d+\/files\/small\.bin -> /m);
    expect(result.stderr).toMatch(/^done {5}http:\/\/127\.0\.0\.1:\d+\/files\/medium\.bin -> .*medium\.bin \(293\.0 KiB in /m);
    expect(result.stderr).toMatch(/^failed {3}http:\/\/127\.0\.0\.1:\d+\/files\/missing\.bin: 404/m);
  });

  it('-q prints only failures and the summary; -qq nothing', async () => {
    const quiet = await runCli([urls.small, http.missingUrl(), '-q', '-d', dir.path]);
    expect(quiet.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^failed {3}.*missing\.bin: 404/),
      expect.stringMatching(/^1 succeeded, 1 failed, 0 canceled/),
      expect.stringMatching(/^ {2}failed .*missing\.bin: 404/),
    ]);
    const silent = await runCli([`${urls.small}?x=1`, http.missingUrl(), '-qq', '-d', dir.path]);
    // small.bin is there from the run above: a local refusal (3) beats the 404 (9).
    expect(silent).toMatchObject({ code: 3, stdout: '', stderr: '' });
  });

  it('downloads with --backend axios', async () => {
    const result = await runCli([urls.medium, '--backend', 'axios', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
  });

  it('downloads file:// URLs through the registry', async () => {
    const files = fileFixture();
    await files.start();
    try {
      const url = await files.publish('local.txt', Buffer.from('from disk\n'));
      const result = await runCli([url, '-d', dir.path]);
      expect(result.code).toBe(0);
      expect(await readFile(join(dir.path, 'local.txt'), 'utf8')).toBe('from disk\n');
    } finally {
      await files.stop();
    }
  });

  it('ignores http-only options for file:// URLs of the same run (-H, -k, -u)', async () => {
    const files = fileFixture();
    await files.start();
    try {
      const url = await files.publish('mixed.txt', Buffer.from('mixed\n'));
      const result = await runCli([url, urls.small, '-H', 'X-Token: abcd', '-k', '-u', 'user:secret', '-d', dir.path]);
      expect(result.stderr).toMatch(/2 succeeded, 0 failed/);
      expect(result.code).toBe(0);
      expect(await ls(dir.path)).toEqual(['mixed.txt', 'small.bin']);
    } finally {
      await files.stop();
    }
  });

  it('fails a download whose --checksum does not match, leaving no file', async () => {
    const result = await runCli([urls.small, '--checksum', `sha256:${'0'.repeat(64)}`, '-d', dir.path]);
    expect(result.code).toBe(10);
    expect(result.stderr).toMatch(/NECTAR_DIGEST_MISMATCH/);
    expect(await ls(dir.path)).toEqual([]);
  });
});

describe('https', () => {
  it('uses --cacert, --cert and --key; -k skips verification', async () => {
    const https = httpFixture({ requestClientCert: true });
    await https.start();
    try {
      const tls = await tlsMaterial();
      const url = await https.publish('tls.bin', small);
      const ok = await runCli([url, '--cacert', tls.caPath, '--cert', tls.clientCertPath, '--key', tls.clientKeyPath, '-d', dir.path]);
      expect(ok.code).toBe(0);
      expect(await readFile(join(dir.path, 'tls.bin'))).toEqual(small);
      const untrusted = await runCli([url, '--cert', tls.clientCertPath, '--key', tls.clientKeyPath, '-o', join(dir.path, 'x')]);
      expect(untrusted.code).toBe(5);
      expect(untrusted.stderr).toMatch(/NECTAR_TLS/);
      const insecure = await runCli([url, '-k', '--cert', tls.clientCertPath, '--key', tls.clientKeyPath, '-o', join(dir.path, 'y')]);
      expect(insecure.code).toBe(0);
    } finally {
      await https.stop();
    }
  });
});

describe('-c, --continue', () => {
  it('keeps the part file of an interrupted download, and the next run resumes it', async () => {
    // The same URL twice: core resumes a kept part only for the URL it was a part of.
    const slow = http.slowUrl('medium.bin', 150_000);
    const cli = startCli([slow, '-c', '-d', dir.path]);
    await cli.waitForStderr(/started /);
    await new Promise((resolve) => setTimeout(resolve, 800));
    cli.process.kill('SIGINT');
    expect((await cli.done).code).toBe(130);
    expect(await ls(dir.path)).toEqual(['.medium.bin.nectar-part', '.medium.bin.nectar-part.json']);
    http.reset();
    const again = await runCli([slow, '-c', '-d', dir.path]);
    expect(again.code).toBe(0);
    expect(await readFile(join(dir.path, 'medium.bin'))).toEqual(medium);
    expect(http.received.find((r) => r.url.startsWith('/files/medium.bin'))?.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
  });
});

describe('existing files', () => {
  beforeEach(() => writeFile(join(dir.path, 'small.bin'), 'mine'));

  it('are not overwritten without --force: that download fails with the reason', async () => {
    const result = await runCli([urls.small, urls.other, '-d', dir.path]);
    expect(result.code).toBe(3);
    expect(await readFile(join(dir.path, 'small.bin'), 'utf8')).toBe('mine');
    expect(await ls(dir.path)).toEqual(['other.txt', 'small.bin']);
    expect(result.stderr).toMatch(/failed .*small\.bin: .*small\.bin exists; --force overwrites it/);
    expect(http.received.some((r) => r.url === '/files/small.bin')).toBe(false);
  });

  it('are overwritten with --force', async () => {
    const result = await runCli([urls.small, '--force', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'small.bin'))).toEqual(small);
  });

  it('are skipped with --skip-existing, exit 0', async () => {
    const result = await runCli([urls.small, urls.other, '-n', '--json', '-d', dir.path]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'small.bin'), 'utf8')).toBe('mine');
    expect(result.stderr).toMatch(/^skipped .*small\.bin \(exists\)$/m);
    expect(result.stderr).toMatch(/1 succeeded, 0 failed, 0 canceled, 1 skipped/);
    expect(result.stdout).toContain('"skipped":"exists"');
  });
});

describe('file names from the network', () => {
  let server: Awaited<ReturnType<typeof anyPathServer>>;
  beforeAll(async () => {
    server = await anyPathServer('payload\n');
  });
  afterAll(() => server.stop());

  it('never leave the chosen folder: traversal, absolute paths, NUL, dot names', async () => {
    const inner = join(dir.path, 'inner');
    const result = await runCli(
      [
        `${server.origin}/..%2F..%2Fetc%2Fpasswd`,
        `${server.origin}/%2Ftmp%2Fabsolute.txt`,
        `${server.origin}/..%5C..%5Cwin.txt`,
        `${server.origin}/nul%00byte.txt`,
        `${server.origin}/%2e%2e`,
        `${server.origin}/a/`,
        '-d',
        inner,
      ],
      { cwd: dir.path },
    );
    expect(result.code).toBe(0);
    expect(await ls(dir.path)).toEqual(['inner']);
    expect(await ls(inner)).toEqual(['absolute.txt', 'index.html', 'index.html.1', 'nulbyte.txt', 'passwd', 'win.txt']);
  });

  it('sanitise a Content-Disposition name with -J the same way', async () => {
    const inner = join(dir.path, 'inner');
    const cd = encodeURIComponent('attachment; filename="../../escaped.txt"');
    const result = await runCli([`${server.origin}/download?cd=${cd}`, '-J', '-d', inner]);
    expect(result.code).toBe(0);
    expect(await ls(dir.path)).toEqual(['inner']);
    expect(await ls(inner)).toEqual(['escaped.txt']);
    expect(result.stderr).toMatch(/done .* -> .*inner\/escaped\.txt/);
  });

  it('take filename* over filename, and never overwrite through -J without --force', async () => {
    await mkdir(join(dir.path, 'inner'));
    await writeFile(join(dir.path, 'inner', 'café.txt'), 'mine');
    const cd = encodeURIComponent(`attachment; filename="cafe.txt"; filename*=UTF-8''caf%C3%A9.txt`);
    const result = await runCli([`${server.origin}/get?cd=${cd}`, '-J', '-d', join(dir.path, 'inner')]);
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'inner', 'café.txt'), 'utf8')).toBe('mine');
    expect(await ls(join(dir.path, 'inner'))).toEqual(['café.txt', 'get']);
    expect(result.stderr).toMatch(/kept .*get: .*café\.txt \(from Content-Disposition\) exists/);
  });
});

describe('usage errors', () => {
  it.each([
    [[], /no URL given/],
    [['--bogus', 'http://x/'], /Unknown option '--bogus'/],
    [['http://a/1', 'http://a/2', '-o', 'f'], /-o FILE takes exactly one URL/],
    [['http://a/1', '--limit-rate', 'fast'], /--limit-rate must be a size/],
    [['http://a/1', '-j', '0'], /--max-concurrent must be a whole number/],
    [['http://a/1', '--backend', 'curl'], /--backend must be undici or axios/],
    [['not a url'], /not an absolute URL: "not a url"/],
    // It parses — as the scheme `localhost:` — but it is a URL typed without its scheme.
    [['localhost:8080/x'], /not an absolute URL: "localhost:8080\/x" \(give the scheme/],
    [['http://a/1', '--proxy', 'ftp://proxy'], /config\.proxyUrl must be http:\/\/host/],
    [['http://a/1', '-i', 'no-such-list.txt'], /cannot read the list no-such-list\.txt/],
  ])('%j exits 2 with the usage', async (args, message) => {
    const result = await runCli(args, { cwd: dir.path });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: nectar [get] URL...');
  });

  it('--help and --version print to stdout and exit 0', async () => {
    expect(await runCli(['--help'])).toMatchObject({ code: 0, stdout: expect.stringContaining('Exit status: 0 all downloads succeeded') });
    expect(await runCli(['help'])).toMatchObject({ code: 0 });
    expect(await runCli(['--version'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^nectar \d+\.\d+\.\d+\n$/) });
  });
});

describe('Ctrl-C', () => {
  it('cancels every download, removes partial files, prints the summary and exits 130', async () => {
    const slow = http.slowUrl('medium.bin', 50_000);
    const slower = http.slowUrl('small.bin', 2_000);
    const cli = startCli([slow, slower, '-d', dir.path]);
    await cli.waitForStderr(/started .*small\.bin/);
    await cli.waitForStderr(/started .*medium\.bin/);
    await new Promise((resolve) => setTimeout(resolve, 500));
    cli.process.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(/^canceled http.*medium\.bin/m);
    expect(result.stderr).toMatch(/^interrupted: 0 succeeded, 0 failed, 2 canceled/m);
    expect(await ls(dir.path)).toEqual([]);
  });

  it('stops reading a list from stdin', async () => {
    const cli = startCli(['-i', '-', '-d', dir.path]);
    cli.process.stdin?.write(`${http.slowUrl('medium.bin', 50_000)}\n`);
    await cli.waitForStderr(/started /);
    cli.process.kill('SIGINT');
    const result = await cli.done;
    expect(result.code).toBe(130);
    expect(await ls(dir.path)).toEqual([]);
  });
});

