import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PassThrough } from 'node:stream';
import { DownloadReport, Redactor } from '@nectar/core/backend';
import { describe, expect, it } from 'vitest';
import { filenameFromContentDisposition } from '../src/content-disposition.js';
import { configFromOptions, parseSize, sshPassphrase } from '../src/config.js';
import { printable } from '../src/format.js';
import { commandLineSecrets, parseCommand } from '../src/args.js';
import { NameAllocator, isInside, nameFromUrl, sanitiseName } from '../src/names.js';
import { ProgressBars, renderLine } from '../src/progress.js';
import { redactText } from '../src/redact.js';
import { Tally } from '../src/tally.js';

describe('file names', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['..\\..\\boot.ini', 'boot.ini'],
    ['/etc/shadow', 'shadow'],
    ['a\u0000b\u0007c.txt', 'abc.txt'],
    ['..', 'fallback'],
    ['.', 'fallback'],
    ['', 'fallback'],
    ['dir/', 'fallback'],
    ['  spaced.txt  ', 'spaced.txt'],
    ['.a.nectar-part', '.a.nectar-part_'],
    ['.a.nectar-part.lock', '.a.nectar-part.lock_'],
    ['.a.nectar-part.json', '.a.nectar-part.json_'],
  ])('sanitiseName(%j) is %j', (raw, expected) => {
    expect(sanitiseName(raw, 'fallback')).toBe(expected);
  });

  it('shortens very long names, keeping the extension', () => {
    const name = sanitiseName(`${'x'.repeat(500)}.tar.gz`, 'f');
    expect(name.length).toBe(200);
    expect(name.endsWith('.gz')).toBe(true);
  });

  it('counts a name in UTF-8 bytes, leaving room for the part file, and never cuts a character', () => {
    for (const raw of [`${'文'.repeat(150)}.txt`, '😀'.repeat(99), `${'é'.repeat(150)}😀😀.tar`]) {
      const name = sanitiseName(raw, 'f');
      expect(Buffer.byteLength(`.${name}.nectar-part.lock`)).toBeLessThanOrEqual(255);
      // A lone surrogate would come back from UTF-8 as U+FFFD.
      expect(Buffer.from(name).toString()).toBe(name);
      expect(name.length).toBeGreaterThan(40);
    }
    expect(sanitiseName(`${'文'.repeat(150)}.txt`, 'f').endsWith('.txt')).toBe(true);
  });

  it('cuts between graphemes, and never ends a cut name on a part-file suffix', () => {
    const family = '👨‍👩‍👧';
    const cut = sanitiseName(`${'a'.repeat(190)}${family}${family}.bin`, 'f');
    expect(cut.replace(/^a+/, '').replace(/\.bin$/, '')).not.toMatch(/\u200d$/);
    expect(['', family]).toContain(cut.replace(/^a+/, '').replace(/\.bin$/, ''));
    const posing = sanitiseName(`.${'a'.repeat(187)}.nectar-part.${'x'.repeat(20)}`, 'f');
    expect(posing.endsWith('.nectar-part')).toBe(false);
  });

  it('drops C1 controls and the marks that reorder text, so a name shows as what it is', () => {
    expect(sanitiseName('invoice\u202Etxt.exe', 'f')).toBe('invoicetxt.exe');
    expect(sanitiseName('a\u009b31mb\u2066c\u200fd.txt', 'f')).toBe('a31mbcd.txt');
  });

  it('takes a URL path’s last segment, decoded', () => {
    expect(nameFromUrl(new URL('https://h/a/b%20c.txt?x=1#y'))).toBe('b c.txt');
    expect(nameFromUrl(new URL('https://h/'))).toBe('index.html');
    expect(nameFromUrl(new URL('file:///tmp/'))).toBe('download');
    expect(nameFromUrl(new URL('https://h/%E0%A4%A'))).toBe('%E0%A4%A');
  });

  it('allocates unique paths inside the folder', () => {
    const names = new NameAllocator('/srv/out');
    expect(names.allocate('a.txt')).toBe('/srv/out/a.txt');
    expect(names.allocate('A.TXT')).toBe('/srv/out/A.TXT.1');
    expect(names.allocate('a.txt')).toBe('/srv/out/a.txt.2');
    expect(() => names.pathOf('../x')).toThrow(/outside/);
    expect(() => names.pathOf('..')).toThrow(/outside/);
    expect(() => names.pathOf('.')).toThrow(/outside/);
    // Whatever the path it takes, a name lands where join() puts it.
    for (const dir of ['/srv/out', '/']) {
      const folder = new NameAllocator(dir);
      for (const name of ['a', '.a', '..a', 'a..', '...', 'a b', 'a\\b', 'a/b', 'a//b', './a', 'a/../b']) {
        expect([name, folder.pathOf(name)]).toEqual([name, join(dir, name)]);
      }
    }
    expect(isInside('/srv/out', '/srv/out')).toBe(false);
    expect(isInside('/srv/out', '/srv/outside')).toBe(false);
  });
});

describe('Content-Disposition', () => {
  it.each([
    ['attachment; filename="a b.txt"', 'a b.txt'],
    ['attachment; filename=plain.bin', 'plain.bin'],
    ['attachment; filename="q\\"uote.txt"', 'q"uote.txt'],
    [`attachment; filename="x.txt"; filename*=UTF-8''%C3%A9t%C3%A9.txt`, 'été.txt'],
    [`attachment; filename*=iso-8859-1'en'%E9.txt`, 'é.txt'],
    ['inline', undefined],
  ])('%j → %j', (header, expected) => {
    expect(filenameFromContentDisposition(header)).toBe(expected);
  });
});

describe('options to config', () => {
  it('reads sizes with 1024-based suffixes', () => {
    expect(parseSize('500K', '--limit-rate')).toBe(512_000);
    expect(parseSize('2M', '--limit-rate')).toBe(2 * 1024 * 1024);
    expect(parseSize('1.5g', '--limit-rate')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('100', '--limit-rate')).toBe(100);
    expect(() => parseSize('0', '--limit-rate')).toThrow(/size/);
  });

  it('maps every option onto DownloaderConfig fields', () => {
    const command = parseCommand([
      'http://h/f', '-j', '3', '--limit-rate', '1M', '-u', 'ann:pw:with:colons', '-H', 'A: 1', '-H', 'a: 2',
      '-x', 'http://pu:pp%40@proxy:3128', '-k', '--cacert', 'ca.pem', '--cert', 'c.pem', '--key', 'k.pem',
      '--connect-timeout', '2.5', '--timeout', '60', '--idle-timeout', '5', '--retry', '0', '--retry-delay', '0.1',
      '-c', '--max-redirs', '2', '--location-trusted', '--compressed', '--max-filesize', '10M', '-A', 'ua/1',
    ]);
    if (command.kind !== 'get') throw new Error('expected get');
    expect(configFromOptions(command.options)).toEqual({
      maxConcurrent: 3,
      maxSpeed: 1024 * 1024,
      basicAuthUsername: 'ann',
      basicAuthPassword: 'pw:with:colons',
      headers: { A: '1, 2' },
      proxyUrl: 'http://proxy:3128',
      proxyUsername: 'pu',
      proxyPassword: 'pp@',
      sslValidation: false,
      sslCaCertPath: 'ca.pem',
      sslClientCertPath: 'c.pem',
      sslClientKeyPath: 'k.pem',
      connectTimeout: 2500,
      requestTimeout: 60_000,
      bodyTimeout: 5000,
      retries: 0,
      retryDelay: 100,
      keepPartial: true,
      maxRedirects: 2,
      trustRedirects: true,
      decompress: true,
      maxFileSize: 10 * 1024 * 1024,
      userAgent: 'ua/1',
    });
  });

  it('maps the ssh options: --ssh-key repeatable and in order, the passphrase from the flag or else the environment', () => {
    const command = parseCommand(['sftp://h/f', '--ssh-key', 'a', '--ssh-key', 'b', '--known-hosts', 'kh', '--ssh-key-passphrase', 'flag-phrase']);
    if (command.kind !== 'get') throw new Error('expected get');
    expect(configFromOptions(command.options)).toEqual({ sshPrivateKeyPath: ['a', 'b'], sshKnownHostsPath: 'kh', sslClientKeyPassphrase: 'flag-phrase' });
    expect(sshPassphrase(command.options, { NECTAR_SSH_PASSPHRASE: 'env-phrase' })).toBe('flag-phrase');
    const bare = parseCommand(['sftp://h/f']);
    if (bare.kind !== 'get') throw new Error('expected get');
    expect(sshPassphrase(bare.options, { NECTAR_SSH_PASSPHRASE: 'env-phrase' })).toBe('env-phrase');
    // As no-color.org says of NO_COLOR: set but empty is unset.
    expect(sshPassphrase(bare.options, { NECTAR_SSH_PASSPHRASE: '' })).toBeUndefined();
  });

  it('reads a proxy typed without a scheme as http://, as curl does', () => {
    const command = parseCommand(['http://h/f', '-x', 'ann:p%zz@proxy:3128']);
    if (command.kind !== 'get') throw new Error('expected get');
    expect(configFromOptions(command.options)).toMatchObject({ proxyUrl: 'http://proxy:3128', proxyUsername: 'ann', proxyPassword: 'p%zz' });
  });

  it('lets --proxy-user win over the proxy URL’s credentials', () => {
    const command = parseCommand(['http://h/f', '-x', 'http://a:b@proxy', '--proxy-user', 'c:d']);
    if (command.kind !== 'get') throw new Error('expected get');
    expect(configFromOptions(command.options)).toMatchObject({ proxyUsername: 'c', proxyPassword: 'd' });
  });
});

describe('redaction', () => {
  it('masks passwords of every URL in a text and nothing else', () => {
    expect(redactText('GET http://u:p%40ss@h:8/x and https://v:w@k/ ok')).toBe('GET http://u:***@h:8/x and https://v:***@k/ ok');
    expect(redactText('http://h:8080/a@b and mail a@b.c')).toBe('http://h:8080/a@b and mail a@b.c');
  });

  it('masks URLs typed without a scheme and malformed ones', () => {
    expect(redactText('proxy "ann:pw@proxy:3128" and u:pw@h/x')).toBe('proxy "ann:***@proxy:3128" and u:***@h/x');
    expect(redactText('not an absolute URL: "http://u:pw@[::1/x?sig=abc"')).toBe('not an absolute URL: "http://u:***@[::1/x?sig=***"');
  });

  it('finds the secrets of a command line, even one that does not parse', () => {
    const argv = ['--bogus', '--user=ann:hunter22', '-x', 'bo:pr%40xy@proxy:1', '-H', 'Authorization: Bearer tok3n-value', 'x:pass-w0rd@h/y?token=t0ken'];
    const secrets = commandLineSecrets(argv);
    expect(secrets).toEqual(expect.arrayContaining(['hunter22', 'pr@xy', 'tok3n-value', 'pass-w0rd', 't0ken']));
    const redactor = new Redactor(secrets);
    expect(redactor.text('hunter22 pr@xy pr%40xy tok3n-value pass-w0rd')).toBe('*** *** *** *** ***');
    expect(commandLineSecrets(['--proxy-user', 'bo:0th3r:pw'])).toEqual(['0th3r:pw']);
    expect(commandLineSecrets(['--ssh-key-passphrase', 'open sesame', '--bogus'])).toEqual(['open sesame']);
    expect(commandLineSecrets(['--ssh-key-passphrase=-dashed'])).toEqual(['-dashed']);
  });
});

describe('printable', () => {
  it('escapes control characters but tabs and newlines', () => {
    expect(printable('a\u001b[2Jb\u0000\u009b\tc\nd\re')).toBe('a\\u001b[2Jb\\u0000\\u009b\tc\nd\\u000de');
  });

  it('escapes the marks that reorder text', () => {
    expect(printable('invoice\u202Etxt.exe')).toBe('invoice\\u202etxt.exe');
  });
});

describe('progress bars', () => {
  it('show bytes and speed without a percentage when the size is unknown', () => {
    const line = renderLine({ label: 'stream.log', bytes: 1536, total: null, speed: 1024 });
    expect(line).toContain('[size unknown');
    expect(line).toContain('1.00 KiB/s  1.50 KiB');
    expect(line).not.toMatch(/%|ETA/);
  });

  it('show percentage, speed and ETA when it is known', () => {
    const line = renderLine({ label: 'a.bin', bytes: 512, total: 2048, speed: 512 }, 10);
    expect(line).toBe(`${'a.bin'.padEnd(18)}  [===       ]  25%  512 B/s  ETA 3.0 s  512 B/2.00 KiB`);
  });

  it('draw on a terminal: one bar per running download under the total, removed when it ends', async () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let drawn = '';
    terminal.on('data', (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const tally = new Tally();
    const bars = new ProgressBars(terminal, tally, new Redactor(), false);
    tally.known = 2;
    const known = Object.assign(new DownloadReport({ url: 'http://h/known.bin', destination: '/d/known.bin', data: undefined }), { totalBytes: 1000, bytesDownloaded: 250 });
    const unknown = Object.assign(new DownloadReport({ url: 'http://h/unknown.bin', destination: '/d/unknown.bin', data: undefined }), { bytesDownloaded: 99 });
    for (const r of [known, unknown]) {
      tally.start(r);
      bars.started(r);
      bars.progress();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(drawn).toMatch(/known\.bin +\[.*\] +25%/);
    expect(drawn).toMatch(/unknown\.bin +\[size unknown/);
    expect(drawn).toMatch(/total 0\/2 +\[size unknown/);
    known.state = 'succeeded';
    known.bytesDownloaded = 1000;
    tally.settle({ report: known, destination: '/d/known.bin' });
    bars.settled({ report: known, destination: '/d/known.bin' });
    bars.stop();
    expect(drawn).toMatch(/done {5}http:\/\/h\/known\.bin -> \/d\/known\.bin/);
  });
});

describe('progress bars, hostile', () => {
  it('mask secrets and escape control characters in names, lines and notes', async () => {
    const terminal = Object.assign(new PassThrough(), { isTTY: true, columns: 100 });
    let drawn = '';
    terminal.on('data', (chunk: Buffer) => {
      drawn += chunk.toString();
    });
    const tally = new Tally();
    const bars = new ProgressBars(terminal, tally, new Redactor(['hunter22']), false);
    const report = new DownloadReport({ url: 'ann:pw@h/x?sig=abc', destination: '/d/\u001b[2Jevil.bin', data: undefined });
    tally.start(report);
    bars.started(report);
    await new Promise((resolve) => setTimeout(resolve, 200));
    bars.note('note with hunter22 in it');
    report.state = 'failed';
    tally.settle({ report, destination: '/d/evil.bin' });
    bars.settled({ report, destination: '/d/evil.bin' });
    bars.stop();
    expect(drawn).toContain('\\u001b[2Jevil.bin');
    expect(drawn).not.toContain('\u001b[2J');
    expect(drawn).toContain('note with *** in it');
    expect(drawn).toMatch(/failed {3}ann:\*\*\*@h\/x\?sig=\*\*\*/);
    expect(drawn).not.toMatch(/hunter22|pw@|abc/);
  });
});

describe('nectar worker', () => {
  it('is @nectar/queue\'s worker: its usage for --help, exit status 0', () => {
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const result = spawnSync(process.execPath, [bin, 'worker', '--help'], { encoding: 'utf8' });
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/--redis/);
  });
});

describe('nectar queue', () => {
  it('is @nectar/queue\'s operator commands: its usage for --help; a bad command is a usage error', () => {
    const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
    const help = spawnSync(process.execPath, [bin, 'queue', '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout + help.stderr).toMatch(/status/);
    const bad = spawnSync(process.execPath, [bin, 'queue', 'no-such-command'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
  });
});
