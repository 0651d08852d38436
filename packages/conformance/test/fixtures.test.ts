import { spawnSync } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, type Dispatcher, ProxyAgent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  basicAuthorization,
  disposeTlsMaterial,
  fileFixture,
  httpFixture,
  proxyFixture,
  tlsMaterial,
} from '../src/fixtures/index.js';

interface Fetched {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Reads a whole response through `dispatcher`; the body is always consumed. */
async function fetchWith(
  dispatcher: Dispatcher,
  url: string,
  options: { method?: 'GET' | 'HEAD'; headers?: Record<string, string> } = {},
): Promise<Fetched> {
  const method = options.method ?? 'GET';
  const res = await request(url, { dispatcher, method, headers: options.headers });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body };
}

/** Reads a body until it ends or fails, keeping the bytes that did arrive. */
async function readUntilError(
  body: AsyncIterable<Uint8Array>,
): Promise<{ bytes: number; error: unknown }> {
  let bytes = 0;
  try {
    for await (const chunk of body) bytes += chunk.length;
  } catch (error) {
    return { bytes, error };
  }
  return { bytes, error: undefined };
}

const FILE = randomBytes(64 * 1024);
const SMALL = randomBytes(4000);

// vitest ends its workers with SIGTERM, so the material's 'exit' cleanup would never run.
afterAll(() => disposeTlsMaterial());

describe('httpFixture over http', () => {
  const fixture = httpFixture();
  const agent = new Agent();
  let fileUrl = '';

  beforeAll(async () => {
    await fixture.start();
    fileUrl = await fixture.publish('a.bin', FILE);
    await fixture.publish('dir/small file.bin', SMALL);
  });
  afterAll(async () => {
    await agent.close();
    await fixture.stop();
  });
  afterEach(() => fixture.reset());

  it('serves a published file with its validators and records the request', async () => {
    const res = await fetchWith(agent, fileUrl, { headers: { 'X-Probe': 'one' } });
    expect(res.status).toBe(200);
    expect(res.body.equals(FILE)).toBe(true);
    expect(res.headers['content-length']).toBe(String(FILE.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect(Date.parse(String(res.headers['last-modified']))).not.toBeNaN();
    expect(fixture.received).toHaveLength(1);
    expect(fixture.received[0]).toMatchObject({
      method: 'GET',
      url: '/files/a.bin',
      clientCertSubject: undefined,
    });
    expect(fixture.received[0]?.headers['x-probe']).toBe('one');
    expect(fixture.stats.bytesSent).toBe(FILE.length);
  });

  it('percent-encodes names with folders and spaces', async () => {
    const url = fixture.url('/files/dir/small%20file.bin');
    expect((await fetchWith(agent, url)).body.equals(SMALL)).toBe(true);
  });

  it('answers HEAD with the headers only', async () => {
    const res = await fetchWith(agent, fileUrl, { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(FILE.length));
    expect(res.body).toHaveLength(0);
  });

  it('serves single ranges and refuses unsatisfiable ones', async () => {
    const middle = await fetchWith(agent, fileUrl, { headers: { Range: 'bytes=10-19' } });
    expect(middle.status).toBe(206);
    expect(middle.headers['content-range']).toBe(`bytes 10-19/${FILE.length}`);
    expect(middle.body.equals(FILE.subarray(10, 20))).toBe(true);

    const suffix = await fetchWith(agent, fileUrl, { headers: { Range: 'bytes=-5' } });
    expect(suffix.body.equals(FILE.subarray(-5))).toBe(true);

    const open = await fetchWith(agent, fileUrl, { headers: { Range: `bytes=${FILE.length - 3}-` } });
    expect(open.body.equals(FILE.subarray(-3))).toBe(true);

    const beyond = await fetchWith(agent, fileUrl, { headers: { Range: `bytes=${FILE.length}-` } });
    expect(beyond.status).toBe(416);
    expect(beyond.headers['content-range']).toBe(`bytes */${FILE.length}`);
  });

  it('applies a Range only while If-Range still names the body', async () => {
    const head = await fetchWith(agent, fileUrl, { method: 'HEAD' });
    const etag = String(head.headers.etag);
    const date = String(head.headers['last-modified']);
    const withIfRange = (ifRange: string) =>
      fetchWith(agent, fileUrl, { headers: { Range: 'bytes=0-9', 'If-Range': ifRange } });

    expect((await withIfRange(etag)).status).toBe(206);
    expect((await withIfRange(date)).status).toBe(206);
    const staleTag = await withIfRange('"stale"');
    expect(staleTag.status).toBe(200);
    expect(staleTag.body.equals(FILE)).toBe(true);
    expect((await withIfRange(new Date(0).toUTCString())).status).toBe(200);
    expect((await withIfRange(`W/${etag}`)).status).toBe(200);
  });

  it('ignores Range with noranges=1', async () => {
    const res = await fetchWith(agent, `${fileUrl}?noranges=1`, { headers: { Range: 'bytes=0-9' } });
    expect(res.status).toBe(200);
    expect(res.headers['accept-ranges']).toBeUndefined();
    expect(res.body.equals(FILE)).toBe(true);
  });

  it('sends chunked bodies without Content-Length, ranges included', async () => {
    const res = await fetchWith(agent, `${fileUrl}?chunked=1`);
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.body.equals(FILE)).toBe(true);
    const part = await fetchWith(agent, `${fileUrl}?chunked=1`, { headers: { Range: 'bytes=5-9' } });
    expect(part.status).toBe(206);
    expect(part.body.equals(FILE.subarray(5, 10))).toBe(true);
  });

  it('paces rate=N at about N bytes per second', async () => {
    const started = performance.now();
    const res = await fetchWith(agent, fixture.slowUrl('dir/small file.bin', 8000));
    const seconds = (performance.now() - started) / 1000;
    expect(res.body.equals(SMALL)).toBe(true);
    // 4000 bytes at 8000 B/s: the last 400-byte slice is due at 0.45 s.
    expect(seconds).toBeGreaterThan(0.4);
    expect(seconds).toBeLessThan(1.2);
  });

  it('stalls after stall=N bytes until the client gives up', async () => {
    const res = await request(`${fileUrl}?stall=100`, { dispatcher: agent, bodyTimeout: 300 });
    expect(res.headers['content-length']).toBe(String(FILE.length));
    const read = await readUntilError(res.body);
    expect(read.bytes).toBe(100);
    expect(read.error).toMatchObject({ code: 'UND_ERR_BODY_TIMEOUT' });
    expect(fixture.stats.bytesSent).toBe(100);
  });

  it('closes the connection after drop=N bytes of a longer declared body', async () => {
    const res = await request(`${fileUrl}?drop=100`, { dispatcher: agent });
    expect(res.headers['content-length']).toBe(String(FILE.length));
    const read = await readUntilError(res.body);
    expect(read.bytes).toBe(100);
    expect(read.error).toMatchObject({ code: 'UND_ERR_SOCKET' });
  });

  it('combines modifiers: a range, paced, then dropped', async () => {
    const res = await request(`${fileUrl}?rate=4000&drop=300`, {
      dispatcher: agent,
      headers: { Range: 'bytes=1000-1999' },
    });
    expect(res.statusCode).toBe(206);
    expect(res.headers['content-length']).toBe('1000');
    expect((await readUntilError(res.body)).bytes).toBe(300);
  });

  it('answers status=N instead of the file, and names a bad modifier', async () => {
    const res = await fetchWith(agent, `${fileUrl}?status=503&retry-after=2`);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('2');
    const bad = await fetchWith(agent, `${fileUrl}?rate=fast`);
    expect(bad.status).toBe(400);
    expect(bad.body.toString()).toContain('rate=fast');
  });

  it('requires Basic credentials under /auth/files', async () => {
    const url = fixture.url('/auth/files/a.bin');
    const none = await fetchWith(agent, url);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm=/);
    const wrong = basicAuthorization({ username: 'user', password: 'nope' });
    expect((await fetchWith(agent, url, { headers: { Authorization: wrong } })).status).toBe(401);
    const authorization = basicAuthorization(fixture.credentials);
    const right = await fetchWith(agent, url, { headers: { Authorization: authorization } });
    expect(right.status).toBe(200);
    expect(right.body.equals(FILE)).toBe(true);
  });

  it('echoes the request as JSON', async () => {
    const headers = { 'User-Agent': 'probe/1' };
    const res = await fetchWith(agent, fixture.url('/echo?x=1'), { headers });
    expect(JSON.parse(res.body.toString())).toMatchObject({
      method: 'GET',
      url: '/echo?x=1',
      headers: { 'user-agent': 'probe/1' },
    });
  });

  it('redirects once, in a loop, and along a chain', async () => {
    const to = encodeURIComponent(fileUrl);
    const once = await fetchWith(agent, fixture.url(`/redirect?to=${to}&status=307`));
    expect(once.status).toBe(307);
    expect(once.headers.location).toBe(fileUrl);

    const loop1 = await fetchWith(agent, fixture.url('/loop'));
    expect(loop1.headers.location).toBe('/loop?i=1');
    const loop2 = await fetchWith(agent, fixture.url('/loop?i=1'));
    expect(loop2.headers.location).toBe('/loop');

    let url = fixture.url('/chain/2/a.bin?chunked=1');
    const hops: string[] = [];
    for (let res = await fetchWith(agent, url); ; res = await fetchWith(agent, url)) {
      if (res.status !== 302) {
        expect(res.body.equals(FILE)).toBe(true);
        expect(res.headers['content-length']).toBeUndefined();
        break;
      }
      hops.push(String(res.headers.location));
      url = fixture.url(String(res.headers.location));
    }
    expect(hops).toEqual(['/chain/1/a.bin?chunked=1', '/chain/0/a.bin?chunked=1']);
  });

  it('answers /status/<code>, 404 for the rest, and refuses on the released port', async () => {
    expect((await fetchWith(agent, fixture.url('/status/418'))).status).toBe(418);
    expect((await fetchWith(agent, fixture.url('/nowhere'))).status).toBe(404);
    expect((await fetchWith(agent, fixture.missingUrl())).status).toBe(404);
    expect(() => fixture.missingUrl('a.bin')).toThrow(/published/);
    await expect(fetchWith(agent, fixture.unreachableUrl())).rejects.toMatchObject({
      code: 'ECONNREFUSED',
    });
  });

  it('counts requests and connections in flight at once', async () => {
    const slow = fixture.slowUrl('dir/small file.bin', 16_000);
    const results = await Promise.all([1, 2, 3].map(() => fetchWith(agent, slow)));
    expect(results.every((r) => r.body.equals(SMALL))).toBe(true);
    expect(fixture.stats.peakInFlight).toBe(3);
    expect(fixture.stats.peakConnections).toBeGreaterThanOrEqual(3);
    expect(fixture.stats.inFlight).toBe(0);
    expect(new Set(fixture.received.map((r) => r.connection)).size).toBe(3);
    fixture.stats.reset();
    expect(fixture.stats.peakInFlight).toBe(0);
  });

  it('stops with responses in progress, clearing their timers', async () => {
    const other = httpFixture();
    await other.start();
    const url = await other.publish('x.bin', SMALL);
    const client = new Agent();
    try {
      const paced = await request(`${url}?rate=100`, { dispatcher: client });
      const stalled = await request(`${url}?stall=10`, { dispatcher: client });
      expect(other.stats.inFlight).toBe(2);
      await other.stop();
      await other.stop();
      expect((await readUntilError(paced.body)).error).toBeDefined();
      expect((await readUntilError(stalled.body)).error).toBeDefined();
      expect(other.stats.inFlight).toBe(0);
      expect(other.stats.openConnections).toBe(0);
    } finally {
      await client.close();
    }
  });
});

describe('httpFixture faults', () => {
  const fixture = httpFixture();
  const agent = new Agent();
  let fileUrl = '';

  beforeAll(async () => {
    await fixture.start();
    fileUrl = await fixture.publish('a.bin', FILE);
  });
  afterAll(async () => {
    await agent.close();
    await fixture.stop();
  });
  afterEach(() => fixture.reset());

  /** The status of a request, or the code of the error it failed with, head or body. */
  async function outcome(url: string): Promise<number | string> {
    try {
      const res = await request(url, { dispatcher: agent });
      const read = await readUntilError(res.body);
      return read.error === undefined ? res.statusCode : errorCode(read.error);
    } catch (error) {
      return errorCode(error);
    }
  }

  it('applies faults to the first times=K requests of a URL, afresh after reset()', async () => {
    const url = `${fileUrl}?status=503&retry-after=1&times=2`;
    const first = await fetchWith(agent, url);
    expect(first.status).toBe(503);
    expect(first.headers['retry-after']).toBe('1');
    expect((await fetchWith(agent, url)).status).toBe(503);
    const third = await fetchWith(agent, url);
    expect(third.status).toBe(200);
    expect(third.body.equals(FILE)).toBe(true);
    // Another query is another URL, with its own count.
    expect((await fetchWith(agent, `${fileUrl}?status=500&times=1`)).status).toBe(500);
    fixture.reset();
    expect((await fetchWith(agent, url)).status).toBe(503);
  });

  it('drops once with drop=N&times=1, then serves the rest to a Range request', async () => {
    const url = `${fileUrl}?drop=5000&times=1`;
    const res = await request(url, { dispatcher: agent });
    const chunks: Buffer[] = [];
    const error = await collectUntilError(res.body, chunks);
    expect(error).toMatchObject({ code: 'UND_ERR_SOCKET' });
    const head = Buffer.concat(chunks);
    expect(head.length).toBe(5000);
    const rest = await fetchWith(agent, url, { headers: { Range: `bytes=${head.length}-` } });
    expect(rest.status).toBe(206);
    expect(rest.headers['content-range']).toBe(`bytes 5000-${FILE.length - 1}/${FILE.length}`);
    expect(Buffer.concat([head, rest.body]).equals(FILE)).toBe(true);
  });

  it('fails every flap=K-th request with a 503, or a reset with flapmode=reset', async () => {
    const statuses: (number | string)[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push(await outcome(`${fileUrl}?flap=3`));
    expect(statuses).toEqual([200, 200, 503, 200, 200, 503]);
    const resets: (number | string)[] = [];
    for (let i = 0; i < 4; i += 1) resets.push(await outcome(`${fileUrl}?flap=2&flapmode=reset`));
    expect(resets).toEqual([200, 'ECONNRESET', 200, 'ECONNRESET']);
  });

  it('resets the connection after reset=N bytes', async () => {
    const res = await request(`${fileUrl}?reset=1000`, { dispatcher: agent });
    expect(res.headers['content-length']).toBe(String(FILE.length));
    const read = await readUntilError(res.body);
    expect(read.bytes).toBe(1000);
    expect(errorCode(read.error)).toBe('ECONNRESET');
    expect(fixture.stats.bytesSent).toBe(1000);
  });

  it('sends extra=N bytes past the Content-Length, then closes', async () => {
    const raw = await rawGet(fixture.port, '/files/a.bin?extra=10');
    const [head = '', ...rest] = raw.toString('latin1').split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(head).toContain(`Content-Length: ${FILE.length}`);
    const body = Buffer.from(rest.join('\r\n\r\n'), 'latin1');
    expect(body.length).toBe(FILE.length + 10);
    expect(body.subarray(0, FILE.length).equals(FILE)).toBe(true);
    expect(body.subarray(FILE.length).toString()).toBe('*'.repeat(10));
    // undici reads the declared length and never sees the rest: the connection is closed.
    const res = await fetchWith(agent, `${fileUrl}?extra=10`);
    expect(res.body.equals(FILE)).toBe(true);
    await waitFor(() => fixture.stats.inFlight === 0);
  });

  it('answers malformed=1 with a head no parser accepts', async () => {
    // undici 7 leaves `code` unset on its HTTPParserError; llhttp's reason is in the message.
    await expect(fetchWith(agent, `${fileUrl}?malformed=1`)).rejects.toMatchObject({
      name: 'HTTPParserError',
      message: expect.stringContaining('Invalid header token'),
    });
    const raw = await rawGet(fixture.port, '/files/a.bin?malformed=1');
    expect(raw.toString('latin1')).toContain('\r\nContent-Type application/octet-stream\r\n');
  });

  it('names combinations of faults that cannot both hold', async () => {
    for (const query of ['flap=2&drop=10', 'flapmode=reset', 'reset=1&drop=1', 'extra=1&chunked=1']) {
      const res = await fetchWith(agent, `${fileUrl}?${query}`);
      expect(res.status, query).toBe(400);
    }
  });
});

describe('httpFixture over https', () => {
  const fixture = httpFixture({ tls: true });
  const strict = new Agent();
  let fileUrl = '';
  let trusting: Agent;

  beforeAll(async () => {
    await fixture.start();
    fileUrl = await fixture.publish('a.bin', SMALL);
    trusting = new Agent({ connect: { ca: fixture.tls?.ca.cert } });
  });
  afterAll(async () => {
    await Promise.all([strict.close(), trusting.close()]);
    await fixture.stop();
  });

  it('is trusted with the test CA and refused without it', async () => {
    expect(fileUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/files\/a\.bin$/);
    expect((await fetchWith(trusting, fileUrl)).body.equals(SMALL)).toBe(true);
    await expect(fetchWith(strict, fileUrl)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });
  });

  it('is valid for localhost as well as 127.0.0.1', async () => {
    const url = fileUrl.replace('127.0.0.1', 'localhost');
    const agent = new Agent({ connect: { ca: fixture.tls?.ca.cert, lookup: loopbackV4 } });
    try {
      expect((await fetchWith(agent, url)).status).toBe(200);
    } finally {
      await agent.close();
    }
  });

  it.each([
    ['expired', 'CERT_HAS_EXPIRED'],
    ['wrong-host', 'ERR_TLS_CERT_ALTNAME_INVALID'],
  ] as const)('presents the %s certificate when asked to', async (certificate, code) => {
    const faulty = httpFixture({ tls: true, certificate });
    await faulty.start();
    try {
      const url = await faulty.publish('a.bin', SMALL);
      await expect(fetchWith(trusting, url)).rejects.toMatchObject({ code });
    } finally {
      await faulty.stop();
    }
  });
});

describe('httpFixture requiring a client certificate', () => {
  const fixture = httpFixture({ requestClientCert: true });
  let fileUrl = '';

  beforeAll(async () => {
    await fixture.start();
    fileUrl = await fixture.publish('a.bin', SMALL);
  });
  afterAll(() => fixture.stop());

  it('refuses a client without a certificate', async () => {
    const agent = new Agent({ connect: { ca: fixture.tls?.ca.cert } });
    try {
      await expect(fetchWith(agent, fileUrl)).rejects.toThrow();
    } finally {
      await agent.close();
    }
  });

  it('serves a client with one from the test CA and records its subject', async () => {
    const tls = await tlsMaterial();
    const connect = { ca: tls.ca.cert, cert: tls.client.cert, key: tls.client.key };
    const agent = new Agent({ connect });
    try {
      expect((await fetchWith(agent, fileUrl)).body.equals(SMALL)).toBe(true);
      expect(fixture.received.at(-1)?.clientCertSubject).toBe(tls.clientSubject);
    } finally {
      await agent.close();
    }
  });
});

describe('proxyFixture', () => {
  const origin = httpFixture();
  const secureOrigin = httpFixture({ tls: true });
  const credentials = { username: 'proxy-user', password: 'proxy-pass' };
  const token = basicAuthorization(credentials);
  const httpProxy = proxyFixture({ auth: credentials });
  const httpsProxy = proxyFixture({ tls: true, auth: credentials });
  let plainUrl = '';
  let secureUrl = '';
  let ca = '';

  beforeAll(async () => {
    await Promise.all([origin.start(), secureOrigin.start(), httpProxy.start(), httpsProxy.start()]);
    plainUrl = await origin.publish('a.bin', SMALL);
    secureUrl = await secureOrigin.publish('a.bin', SMALL);
    ca = (await tlsMaterial()).ca.cert;
  });
  afterAll(async () => {
    await Promise.all([httpProxy.stop(), httpsProxy.stop()]);
    await Promise.all([origin.stop(), secureOrigin.stop()]);
  });
  afterEach(() => {
    httpProxy.reset();
    httpsProxy.reset();
  });

  async function through(options: ProxyAgent.Options, url: string): Promise<Fetched> {
    const agent = new ProxyAgent(options);
    try {
      return await fetchWith(agent, url);
    } finally {
      await agent.close();
    }
  }

  it('forwards an absolute-form http request with the right credentials', async () => {
    const res = await through({ uri: httpProxy.url, token, proxyTunnel: false }, plainUrl);
    expect(res.body.equals(SMALL)).toBe(true);
    expect(httpProxy.requests).toEqual([plainUrl]);
    expect(httpProxy.authorizations).toEqual([token]);
    expect(origin.received.at(-1)?.headers['proxy-authorization']).toBeUndefined();
  });

  it('answers 407 to wrong or missing credentials', async () => {
    // undici's ProxyAgent turns a 407 into an error, tunnelled or not.
    const wrong = basicAuthorization({ username: 'proxy-user', password: 'nope' });
    const forwarding = { uri: httpProxy.url, token: wrong, proxyTunnel: false };
    await expect(through(forwarding, plainUrl)).rejects.toThrow(/407/);
    await expect(through({ uri: httpProxy.url }, secureUrl)).rejects.toThrow(/407/);
    expect(httpProxy.authorizations).toEqual([wrong]);
    expect(httpProxy.requests).toEqual([plainUrl]);
    expect(httpProxy.connects).toEqual([`127.0.0.1:${secureOrigin.port}`]);
  });

  it('tunnels https through CONNECT and records the target', async () => {
    const res = await through({ uri: httpProxy.url, token, requestTls: { ca } }, secureUrl);
    expect(res.body.equals(SMALL)).toBe(true);
    expect(httpProxy.connects).toEqual([`127.0.0.1:${secureOrigin.port}`]);
    expect(httpProxy.requests).toEqual([]);
  });

  it('works as an HTTPS proxy trusted with the test CA', async () => {
    expect(httpsProxy.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    // undici names an IP-addressed proxy in SNI (Node warns, DEP0123); the certificate also
    // covers localhost, so that name is given instead.
    const proxyTls = { ca, servername: 'localhost' };
    const res = await through({ uri: httpsProxy.url, token, proxyTls, requestTls: { ca } }, secureUrl);
    expect(res.body.equals(SMALL)).toBe(true);
    expect(httpsProxy.connects).toEqual([`127.0.0.1:${secureOrigin.port}`]);
    expect(httpsProxy.authorizations).toEqual([token]);
  });

  it('closes tunnels to the origin when it stops', async () => {
    const proxy = proxyFixture();
    await proxy.start();
    const agent = new ProxyAgent({ uri: proxy.url, requestTls: { ca } });
    try {
      const stalled = await request(`${secureUrl}?stall=10`, { dispatcher: agent });
      expect(secureOrigin.stats.openConnections).toBe(1);
      await proxy.stop();
      expect((await readUntilError(stalled.body)).error).toBeDefined();
      await waitFor(() => secureOrigin.stats.openConnections === 0);
    } finally {
      await agent.close();
    }
  });
});

describe('fileFixture', () => {
  const fixture = fileFixture();
  beforeAll(() => fixture.start());
  afterAll(() => fixture.stop());

  it('publishes files as file:// URLs and names missing ones', async () => {
    const url = await fixture.publish('dir/a file.bin', SMALL);
    expect(url).toMatch(/^file:\/\/.*\/dir\/a%20file\.bin$/);
    expect((await readFile(fileURLToPath(url))).equals(SMALL)).toBe(true);
    const enoent = { code: 'ENOENT' };
    await expect(readFile(fileURLToPath(fixture.missingUrl()))).rejects.toMatchObject(enoent);
    await expect(readFile(fileURLToPath(fixture.unreachableUrl()))).rejects.toMatchObject(enoent);
    await expect(fixture.publish('../escape.bin', SMALL)).rejects.toThrow(TypeError);
  });

  it('removes its folder when it stops', async () => {
    const other = fileFixture();
    await other.start();
    const root = other.root;
    await other.publish('a.bin', SMALL);
    await other.stop();
    await other.stop();
    expect(existsSync(root)).toBe(false);
  });
});

describe('tlsMaterial', () => {
  it('is made once per process, as PEM text and files', async () => {
    const [first, second] = await Promise.all([tlsMaterial(), tlsMaterial()]);
    expect(second).toBe(first);
    expect(readFileSync(first.caPath, 'utf8')).toBe(first.ca.cert);
    expect(readFileSync(first.clientCertPath, 'utf8')).toBe(first.client.cert);
    expect(readFileSync(first.clientKeyPath, 'utf8')).toBe(first.client.key);
  });

  it('issues every certificate from the CA, the client one for clientAuth', async () => {
    const tls = await tlsMaterial();
    const ca = new X509Certificate(tls.ca.cert);
    for (const files of [tls.server, tls.client, tls.expired, tls.wrongHost]) {
      expect(new X509Certificate(files.cert).verify(ca.publicKey)).toBe(true);
    }
    const client = new X509Certificate(tls.client.cert);
    expect(client.keyUsage).toContain('1.3.6.1.5.5.7.3.2');
    const server = new X509Certificate(tls.server.cert);
    expect(server.subjectAltName).toContain('IP Address:0:0:0:0:0:0:0:1');
    expect(new Date(new X509Certificate(tls.expired.cert).validTo).getTime()).toBeLessThan(Date.now());
  });

  it('deletes its files on dispose and is made afresh after', async () => {
    const old = await tlsMaterial();
    await disposeTlsMaterial();
    expect(existsSync(old.dir)).toBe(false);
    const fresh = await tlsMaterial();
    expect(fresh.ca.cert).not.toBe(old.ca.cert);
    expect(existsSync(fresh.caPath)).toBe(true);
  });

  it('sweeps away the folders of killed processes', async () => {
    const deadPid = spawnSync(process.execPath, ['-e', '']).pid;
    const abandoned = mkdtempSync(join(tmpdir(), `nectar-tls-${deadPid}-`));
    await disposeTlsMaterial();
    await tlsMaterial();
    expect(existsSync(abandoned)).toBe(false);
  });
});

/** Resolves `localhost` to 127.0.0.1 only: the fixtures listen on IPv4 loopback. */
function loopbackV4(
  _hostname: string,
  options: object,
  callback: (
    error: NodeJS.ErrnoException | null,
    address: string | { address: string; family: number }[],
    family?: number,
  ) => void,
): void {
  if ('all' in options && options.all) callback(null, [{ address: '127.0.0.1', family: 4 }]);
  else callback(null, '127.0.0.1', 4);
}

/** Collects a body's chunks into `chunks` until it ends or fails; returns the failure. */
async function collectUntilError(body: AsyncIterable<Uint8Array>, chunks: Buffer[]): Promise<unknown> {
  try {
    for await (const chunk of body) chunks.push(Buffer.from(chunk));
  } catch (error) {
    return error;
  }
  return undefined;
}

/** An error's `code`, or a text that shows in an assertion what failed without one. */
function errorCode(error: unknown): string {
  const code = error instanceof Error ? (error as NodeJS.ErrnoException).code : undefined;
  return code ?? `no code: ${String(error)}`;
}

/** A GET on a raw socket, returning every byte the server sent until it closed. */
async function rawGet(port: number, target: string): Promise<Buffer> {
  const socket = connect(port, '127.0.0.1');
  socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of socket) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
