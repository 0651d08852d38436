import { readFile } from 'node:fs/promises';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const origin: HttpFixture = httpFixture();
// A second server is a second origin: same host, another port.
const other: HttpFixture = httpFixture();
const downloaders = new Downloaders();
let tmp: Scratch;

const credentials = { basicAuthUsername: 'user', basicAuthPassword: 'pass' } as const;
const userHeaders = { cookie: 'session=1', 'x-custom': 'mine', accept: 'application/octet-stream' };

beforeAll(async () => {
  await Promise.all([origin.start(), other.start()]);
  tmp = await scratch();
});
afterAll(async () => {
  await Promise.all([origin.stop(), other.stop()]);
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  origin.reset();
  other.reset();
});

const redirectTo = (target: string, status = 302) => origin.url(`/redirect?status=${status}&to=${encodeURIComponent(target)}`);

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('follows a %i and records the final URL', async (status) => {
    const body = randomBytes(3000);
    const target = await origin.publish(`r${status}.bin`, body);
    const report = await fetchOne(downloaders.create(), redirectTo(`/files/r${status}.bin`, status), tmp.path(`r${status}.bin`));
    expect(report.state).toBe('succeeded');
    expect(report.finalUrl).toBe(target);
    expect((await readFile(tmp.path(`r${status}.bin`))).equals(body)).toBe(true);
  });

  it('keeps Authorization and user headers on the same origin', async () => {
    await origin.publish('same.bin', randomBytes(10));
    const downloader = downloaders.create({ ...credentials, headers: userHeaders });
    const report = await fetchOne(downloader, redirectTo('/auth/files/same.bin'), tmp.path('same.bin'));
    expect(report.state).toBe('succeeded');
    const final = origin.received.at(-1)?.headers;
    expect(final?.authorization).toMatch(/^Basic /);
    expect(final?.cookie).toBe('session=1');
    expect(final?.['x-custom']).toBe('mine');
  });

  it('drops Authorization, Cookie and custom headers on another origin, keeping Accept and User-Agent', async () => {
    const target = await other.publish('cross.bin', randomBytes(10));
    const downloader = downloaders.create({ ...credentials, headers: userHeaders });
    const report = await fetchOne(downloader, redirectTo(target), tmp.path('cross.bin'));
    expect(report.state).toBe('succeeded');
    expect(report.finalUrl).toBe(target);
    expect(origin.received[0]?.headers.authorization).toMatch(/^Basic /);
    const [hop] = other.received;
    expect(hop?.headers.authorization).toBeUndefined();
    expect(hop?.headers.cookie).toBeUndefined();
    expect(hop?.headers['x-custom']).toBeUndefined();
    expect(hop?.headers.accept).toBe('application/octet-stream');
    expect(hop?.headers['user-agent']).toMatch(/^nectar\//);
    expect(hop?.headers['accept-encoding']).toBe('identity');
  });

  it('keeps everything across origins with trustRedirects', async () => {
    const target = await other.publish('trusted.bin', randomBytes(10));
    const downloader = downloaders.create({ ...credentials, headers: userHeaders, trustRedirects: true });
    await fetchOne(downloader, redirectTo(target), tmp.path('trusted.bin'));
    expect(other.received[0]?.headers.authorization).toMatch(/^Basic /);
    expect(other.received[0]?.headers['x-custom']).toBe('mine');
  });

  it('fails a loop with NECTAR_REDIRECT_LOOP and leaves no file', async () => {
    const report = await fetchOne(downloaders.create(), origin.url('/loop'), tmp.path('loop.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport.code).toBe('NECTAR_REDIRECT_LOOP');
    expect((await tmp.files()).filter((f) => f.includes('loop.bin'))).toEqual([]);
  });

  it('follows 20 redirects and fails the 21st with NECTAR_TOO_MANY_REDIRECTS', async () => {
    await origin.publish('chain.bin', randomBytes(10));
    const twenty = await fetchOne(downloaders.create(), origin.url('/chain/20/chain.bin'), tmp.path('chain20.bin'));
    expect(twenty.state).toBe('succeeded');
    const report = await fetchOne(downloaders.create(), origin.url('/chain/21/chain.bin'), tmp.path('chain21.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport.code).toBe('NECTAR_TOO_MANY_REDIRECTS');
  });

  it('reuses the connection across same-origin hops', async () => {
    await origin.publish('hops.bin', randomBytes(100_000));
    await fetchOne(downloaders.create(), origin.url('/chain/5/hops.bin'), tmp.path('hops.bin'));
    expect(origin.received).toHaveLength(6);
    expect(origin.stats.connections).toBe(1);
  });
});
