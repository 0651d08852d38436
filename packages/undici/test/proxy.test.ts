import { readFile } from 'node:fs/promises';
import { type HttpFixture, httpFixture, type ProxyFixture, proxyFixture, type TlsMaterial, tlsMaterial } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const auth = { username: 'proxy-user', password: 'proxy-pass' };
const expectedAuthorization = `Basic ${Buffer.from('proxy-user:proxy-pass').toString('base64')}`;
const targets: Record<'http' | 'https', HttpFixture> = { http: httpFixture(), https: httpFixture({ tls: true }) };
const proxies: Record<'http' | 'https', ProxyFixture> = { http: proxyFixture({ auth }), https: proxyFixture({ tls: true, auth }) };
const servers = [...Object.values(targets), ...Object.values(proxies)];
const downloaders = new Downloaders();
const body = randomBytes(300_000);
let tmp: Scratch;
let tls: TlsMaterial;

beforeAll(async () => {
  await Promise.all(servers.map((s) => s.start()));
  await Promise.all(Object.values(targets).map((t) => t.publish('p.bin', body)));
  tls = await tlsMaterial();
  tmp = await scratch();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  for (const s of servers) s.reset();
});

const combinations = [
  ['http', 'http'],
  ['https', 'http'],
  ['http', 'https'],
  ['https', 'https'],
] as const;

describe.each(combinations)('an %s target through an %s proxy', (target, proxy) => {
  const config = (password: string) => ({
    proxyUrl: proxies[proxy].url,
    proxyUsername: auth.username,
    proxyPassword: password,
    // One CA signs the proxy's and the target's certificates.
    sslCaCert: tls.ca.cert,
  });

  it('downloads with proxy auth, the proxy seeing the request and its credentials', async () => {
    const name = `${target}-via-${proxy}.bin`;
    const url = targets[target].url('/files/p.bin');
    const downloader = downloaders.create({ ...config(auth.password), basicAuthUsername: 'user', basicAuthPassword: 'pass' });
    const report = await fetchOne(downloader, url, tmp.path(name));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect((await readFile(tmp.path(name))).equals(body)).toBe(true);
    const seen = proxies[proxy];
    if (target === 'http' && proxy === 'http') {
      // Plain http through a plain proxy: an absolute-form request, no tunnel.
      expect(seen.requests).toEqual([url]);
      expect(seen.connects).toEqual([]);
    } else {
      expect(seen.connects).toEqual([new URL(url).host]);
    }
    expect(seen.authorizations).toContain(expectedAuthorization);
    // The target gets the request's own credentials, never the proxy's.
    const received = targets[target].received[0]?.headers;
    expect(received?.['proxy-authorization']).toBeUndefined();
    expect(received?.authorization).toBe(`Basic ${Buffer.from('user:pass').toString('base64')}`);
  });

  it('fails a wrong proxy password with NECTAR_PROXY, naming no password, leaving nothing', async () => {
    const name = `${target}-via-${proxy}-denied.bin`;
    const report = await fetchOne(downloaders.create({ ...config('wrong-password'), retries: 2 }), targets[target].url('/files/p.bin'), tmp.path(name));
    expect(report.state).toBe('failed');
    expect(report.errorReport.code).toBe('NECTAR_PROXY');
    expect(report.errorReport.status).toBe(407);
    expect(report.attempts).toBe(1);
    expect(JSON.stringify(report.errorReport)).not.toContain('wrong-password');
    expect((await tmp.files()).filter((f) => f.includes(name))).toEqual([]);
  });
});

describe('proxy connections', () => {
  it('reuses the tunnel for consecutive https downloads', async () => {
    const downloader = downloaders.create({ proxyUrl: proxies.https.url, proxyUsername: auth.username, proxyPassword: auth.password, sslCaCert: tls.ca.cert, maxConcurrent: 1 });
    for (const name of ['t1.bin', 't2.bin', 't3.bin']) await fetchOne(downloader, targets.https.url('/files/p.bin'), tmp.path(name));
    expect(proxies.https.connects).toHaveLength(1);
    expect(targets.https.stats.connections).toBe(1);
  });

  it('fails an unreachable proxy with NECTAR_CONNECT naming the proxy', async () => {
    const unreachable = new URL(targets.http.unreachableUrl());
    const report = await fetchOne(downloaders.create({ proxyUrl: `http://${unreachable.host}` }), targets.http.url('/files/p.bin'), tmp.path('no-proxy.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_CONNECT', proxy: `http://${unreachable.host}/` });
  });
});
