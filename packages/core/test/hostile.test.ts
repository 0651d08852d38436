import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Backend, ComposedDownloader, DownloadReport, DownloadRequest, DownloaderConfig, DownloaderRegistry, NectarArgumentError, NectarError, supportsAll, urlSecrets, redactText, redactUrl, AtomicFile, Redactor, SpeedLimiter, lockPath, partPath, withDefaults } from '../src/backend.js';
import { ThroughputFloor, effectiveFloor } from '../src/limits/throughput-floor.js';

const folders: string[] = [];
async function folder(): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), 'nectar-core-hostile-'));
  folders.push(path);
  return path;
}
afterEach(async () => {
  await Promise.all(folders.splice(0).map((f) => rm(f, { recursive: true, force: true })));
});

describe('secrets', () => {
  it('masks URL passwords and secret query parameters, keeping everything else byte for byte', () => {
    expect(redactUrl('https://ann:s3cret@h/p?a=1&token=abc&X-Amz-Signature=def&b=%2F')).toBe('https://ann:***@h/p?a=1&token=***&X-Amz-Signature=***&b=%2F');
    expect(redactUrl('https://h/p?Access_Token=x#frag')).toBe('https://h/p?Access_Token=***#frag');
    expect(redactUrl('https://h/p?tokenize=keep')).toBe('https://h/p?tokenize=keep');
  });

  it("masks secret parameters in a URL's fragment (OAuth's implicit flow puts its access_token there)", () => {
    expect(redactUrl('https://h/cb#access_token=abc&state=1')).toBe('https://h/cb#access_token=***&state=1');
    expect(redactUrl('https://h/cb?a=1#state=1&id_token=x.y')).toBe('https://h/cb?a=1#state=1&id_token=***');
    expect(redactText('GET https://h/cb#access_token=abc failed')).toBe('GET https://h/cb#access_token=*** failed');
    // A single-page app's router: the parameters after a '?' in the fragment.
    expect(redactUrl('https://h/#/cb?access_token=abc&x=1')).toBe('https://h/#/cb?access_token=***&x=1');
    expect(redactText('see https://h/#/cb?access_token=abc')).toBe('see https://h/#/cb?access_token=***');
    expect(urlSecrets('https://h/#/cb?access_token=abcd')).toEqual(['abcd']);
    const request = new DownloadRequest('https://h/cb#access_token=abc', '/tmp/f');
    expect(JSON.stringify(new DownloadReport(request))).not.toContain('abc');
    expect(new Redactor().with(urlSecrets('https://h/cb#access_token=abcd')).text('quoted abcd')).toBe('quoted ***');
  });

  it('masks credentials in free text, also without a scheme and with an @ in the password', () => {
    expect(redactText('GET http://u:pw@h/x failed')).toBe('GET http://u:***@h/x failed');
    expect(redactText('u:p@ss@127.0.0.1:8080')).toBe('u:***@127.0.0.1:8080');
    expect(redactText('see /x?sig=abc&n=1')).toBe('see /x?sig=***&n=1');
    expect(redactText('GET http://h/x?api_key=abc: connection reset')).toBe('GET http://h/x?api_key=***: connection reset');
    expect(redactText('ECONNREFUSED 127.0.0.1:443')).toBe('ECONNREFUSED 127.0.0.1:443');
  });

  it('masks every literal secret it knows, and extra parameters from config', () => {
    const redactor = new Redactor(['hunter22', 'ab'], ['X-My-Token']);
    expect(redactor.text('auth failed with hunter22 (ab)')).toBe('auth failed with *** (ab)');
    expect(redactor.url('https://h/?x-my-token=zz')).toBe('https://h/?x-my-token=***');
    expect(redactor.value({ a: ['hunter22'], b: { c: 'hunter22' }, n: 3 })).toEqual({ a: ['***'], b: { c: '***' }, n: 3 });
  });

  it('reports a request URL masked, while the request keeps what the caller gave', () => {
    const request = new DownloadRequest('https://u:pw@h/f?token=t', '/tmp/f');
    expect(request.url).toBe('https://u:pw@h/f?token=t');
    const report = new DownloadReport(request);
    expect(report.url).toBe('https://u:***@h/f?token=***');
    expect(JSON.stringify(report)).not.toMatch(/pw|=t"/);
  });

  it('masks the Authorization values core builds (basic auth, proxy, URL userinfo) where a server quotes them', async () => {
    // A backend passing on what a server said: a reason phrase that echoes the headers it got.
    const quoting: Backend = {
      name: 'quoting',
      schemes: ['http'],
      supports: supportsAll(true),
      async transfer(job) {
        throw new NectarError('NECTAR_HTTP_STATUS', `401 Bad ${job.headers.authorization} via ${job.proxy?.authorization}`);
      },
    };
    const config = { retries: 0, basicAuthUsername: 'dave', basicAuthPassword: 'user-secret', proxyUrl: 'http://127.0.0.1:9', proxyUsername: 'pat', proxyPassword: 'proxy-secret' };
    const downloader = new ComposedDownloader(quoting, config);
    const dir = await folder();
    const reports = await downloader.download([new DownloadRequest('http://h/f', join(dir, 'a')), new DownloadRequest('http://eve:url-secret@h/f', join(dir, 'b'))]);
    await downloader.close();
    const text = JSON.stringify(reports.map((r) => r.errorReport));
    expect(text).toContain('401 Bad ***');
    for (const [user, password] of [['dave', 'user-secret'], ['pat', 'proxy-secret'], ['eve', 'url-secret']]) {
      expect(text).not.toContain(Buffer.from(`${user}:${password}`).toString('base64'));
    }
  });

  it('does not quote a URL password in the error for a URL that does not parse', () => {
    expect(() => new DownloadRequest('ht tp://u:pw@h/', '/tmp/f')).toThrow(/u:\*\*\*@h/);
  });
});

describe('headers', () => {
  for (const value of ['a\r\nb', 'a\x01b', 'a\x7fb', 'price: 5 €', 'a\0b']) {
    it(`refuses the header value ${JSON.stringify(value)} naming the header, not quoting the value`, () => {
      const make = () => new DownloadRequest('https://h/', '/tmp/f', { headers: { 'x-secret': value } });
      expect(make).toThrow(NectarArgumentError);
      expect(make).toThrow(/headers\.x-secret holds a control character or a character outside Latin-1/);
      expect(() => new DownloaderConfig({ headers: { 'x-secret': value } })).toThrow(/headers\.x-secret/);
    });
  }

  it('accepts tabs and Latin-1', () => {
    expect(new DownloadRequest('https://h/', '/tmp/f', { headers: { a: 'caf\xe9\tx' } }).headers.a).toBe('caf\xe9\tx');
  });
});

describe('prototype keys', () => {
  it('keeps __proto__ and constructor in a parsed config or headers object as plain data', () => {
    const config = new DownloaderConfig(JSON.parse('{"__proto__": {"polluted": true}, "constructor": "x", "maxConcurrent": 2}'));
    expect(Object.getPrototypeOf(config)).toBe(DownloaderConfig.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(config.get('constructor')).toBe('x');
    expect(withDefaults(config).maxConcurrent).toBe(2);
    const request = new DownloadRequest('https://h/', '/tmp/f', { headers: JSON.parse('{"__proto__": "v"}') });
    expect(Object.getPrototypeOf(request.headers)).toBe(Object.prototype);
    expect(Object.keys(request.headers)).toEqual(['__proto__']);
  });
});

describe('wrong types', () => {
  it('names the argument instead of failing with a raw TypeError', () => {
    expect(() => new DownloaderRegistry().register(null as never, () => null as never)).toThrow(/register\(\) needs a scheme or an array of schemes, got null/);
    expect(() => DownloadRequest.from({ url: 'https://h/', destination: '/x', mirrors: {} as never })).toThrow(/mirrors must be an array/);
  });
});

describe('bad numbers', () => {
  it('waits a whole slot of a tiny rate instead of firing a 2^31 ms timer at once', async () => {
    const limiter = new SpeedLimiter(1);
    const controller = new AbortController();
    // 3 000 000 bytes at 1 byte/s: 3e9 ms, past Node's timer range, which would fire after 1 ms.
    const taking = limiter.take(3_000_000, controller.signal).then(
      () => 'resolved',
      () => 'aborted',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await taking).toBe('aborted');
  });
});

describe('minimum throughput', () => {
  it('fails a window with too few bytes, and pauses while the transfer waits on us', async () => {
    let slow = 0;
    const floor = new ThroughputFloor(100, 1000, () => slow++);
    const start = performance.now();
    floor.hold();
    floor.tick(start + 5000);
    expect(slow).toBe(0);
    floor.release();
    floor.add(150);
    floor.tick(start + 6000);
    expect(slow).toBe(0);
    floor.add(10);
    floor.tick(start + 6500);
    expect(slow).toBe(0);
    floor.tick(start + 7000);
    expect(slow).toBe(1);
    floor.stop();
  });

  it('stays well below each transfer\'s share of maxSpeed', () => {
    expect(effectiveFloor(1024, undefined, 8)).toBe(1024);
    expect(effectiveFloor(1024, 8000, 8)).toBe(250);
    expect(withDefaults(new DownloaderConfig()).minSpeed).toBeGreaterThan(0);
  });
});

describe('part files', () => {
  it('locks a part file with a symlink naming this process, and releases it', async () => {
    const dest = join(await folder(), 'f');
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect(await readlink(lockPath(partPath(dest)))).toMatch(new RegExp(`^${process.pid}:\\d*$`));
    await file.write([Buffer.from('abc')]);
    await file.commit({ fsync: false });
    expect(await readFile(dest, 'utf8')).toBe('abc');
    expect(await readdir(join(dest, '..'))).toEqual(['f']);
  });

  it('refuses a part file held by a live process, and takes over one whose owner is dead', async () => {
    const dir = await folder();
    const dest = join(dir, 'f');
    await symlink(`${process.pid}:`, lockPath(partPath(dest)));
    await expect(AtomicFile.open(dest)).rejects.toThrow(new RegExp(`being downloaded by process ${process.pid}`));
    await rm(lockPath(partPath(dest)));
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await symlink(`${dead}:1`, lockPath(partPath(dest)));
    await writeFile(partPath(dest), 'junk');
    const recovered = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect(recovered.size).toBe(0);
    await recovered.abandon();
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over a lock that another user made naming a live process that is not theirs (pid 1): it blocked the destination for good", async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root, to give the planted lock to another user');
    const dir = await folder();
    const dest = join(dir, 'f');
    await symlink('1:', lockPath(partPath(dest)));
    const { lchown } = await import('node:fs/promises');
    await lchown(lockPath(partPath(dest)), 65534, 65534);
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect(await readlink(lockPath(partPath(dest)))).toMatch(new RegExp(`^${process.pid}:`));
    await file.abandon();
    expect(await readdir(dir)).toEqual([]);
  });

  /** A part file kept for a later run (keepPartial), as a failed download leaves it. */
  async function keptPart(dest: string, bytes = 'kept bytes'): Promise<void> {
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    file.write([Buffer.from(bytes)]);
    await file.abandon({ validator: '"v1"', total: 100 });
  }

  it('resumes a kept part file whose sidecar names it', async () => {
    const dest = join(await folder(), 'f');
    await keptPart(dest);
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect([file.size, file.resumeValidator, file.resumeTotal]).toEqual([10, '"v1"', 100]);
    await file.abandon();
  });

  it('does not let a sidecar vouch for a later part file in its place (its part was replaced, then the run killed)', async () => {
    const dir = await folder();
    const dest = join(dir, 'f');
    await keptPart(dest);
    // Another download to the same name removed the kept part and wrote its own, then was killed.
    await rm(partPath(dest));
    await writeFile(partPath(dest), 'bytes of another file');
    await symlink(`${spawnSync(process.execPath, ['-e', '0']).pid}:1`, lockPath(partPath(dest)));
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect([file.size, file.resumeValidator]).toEqual([0, null]);
    await file.abandon();
    expect(await readdir(dir)).toEqual([]);
  });

  it('does not block on a FIFO planted as the sidecar', async () => {
    const dir = await folder();
    const dest = join(dir, 'f');
    await keptPart(dest);
    const sidecar = `${partPath(dest)}.json`;
    await rm(sidecar);
    expect(spawnSync('mkfifo', [sidecar]).status).toBe(0);
    // Without O_NONBLOCK the open waits for a writer: this one comes after 3 s, so the test
    // fails by its clock instead of hanging the worker.
    const writer = spawn('sh', ['-c', `sleep 3; echo '{}' > '${sidecar}'`], { stdio: 'ignore' });
    try {
      const started = performance.now();
      const file = await AtomicFile.open(dest, { url: 'https://h/f' });
      expect(performance.now() - started).toBeLessThan(1500);
      expect(file.resumeValidator).toBeNull();
      await file.abandon();
    } finally {
      writer.kill('SIGKILL');
    }
  });

  it('does not believe a sidecar that another user owns', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root, to give the sidecar to another user');
    const dest = join(await folder(), 'f');
    await keptPart(dest);
    const { chown } = await import('node:fs/promises');
    await chown(`${partPath(dest)}.json`, 65534, 65534);
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect([file.size, file.resumeValidator]).toEqual([0, null]);
    await file.abandon();
  });

  it('never resumes a part file owned by another user, even with a sidecar that vouches for it', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root, to give the planted file to another user');
    const dir = await folder();
    const dest = join(dir, 'f');
    await writeFile(partPath(dest), 'planted by uid 65534');
    const { chown } = await import('node:fs/promises');
    await chown(partPath(dest), 65534, 65534);
    const { createHash } = await import('node:crypto');
    await writeFile(`${partPath(dest)}.json`, JSON.stringify({ urlDigest: createHash('sha256').update('https://h/f').digest('hex'), validator: '"v"', total: null }));
    const file = await AtomicFile.open(dest, { url: 'https://h/f' });
    expect(file.size).toBe(0);
    expect(file.resumeValidator).toBeNull();
    await file.abandon();
  });
});
