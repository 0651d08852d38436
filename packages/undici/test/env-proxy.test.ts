import { type HttpFixture, httpFixture, type ProxyFixture, proxyFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { environmentNamesProxy } from '../src/index.js';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

// This file changes process.env; vitest runs each test file in its own worker, so no other
// file sees it.
const variables = ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'];
const saved = Object.fromEntries(variables.map((name) => [name, process.env[name]]));
const target: HttpFixture = httpFixture();
const proxy: ProxyFixture = proxyFixture();
const other: ProxyFixture = proxyFixture();
const downloaders = new Downloaders();
let tmp: Scratch;

function setEnvironment(values: Record<string, string>): void {
  for (const name of variables) delete process.env[name];
  Object.assign(process.env, values);
}

beforeAll(async () => {
  await Promise.all([target.start(), proxy.start(), other.start()]);
  await target.publish('e.bin', randomBytes(1000));
  tmp = await scratch();
});
afterAll(async () => {
  setEnvironment({});
  for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  await Promise.all([target.stop(), proxy.stop(), other.stop()]);
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  for (const s of [target, proxy, other]) s.reset();
});

describe('proxy from the environment', () => {
  it('knows whether the environment names a proxy', () => {
    expect(environmentNamesProxy({})).toBe(false);
    expect(environmentNamesProxy({ NO_PROXY: 'example.com' })).toBe(false);
    expect(environmentNamesProxy({ https_proxy: 'http://p:1' })).toBe(true);
  });

  it('uses HTTP_PROXY when the config names no proxy', async () => {
    setEnvironment({ HTTP_PROXY: proxy.url });
    const report = await fetchOne(downloaders.create(), target.url('/files/e.bin'), tmp.path('env.bin'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(proxy.requests).toEqual([target.url('/files/e.bin')]);
  });

  it('goes direct for a host listed in NO_PROXY', async () => {
    setEnvironment({ HTTP_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1' });
    const report = await fetchOne(downloaders.create(), target.url('/files/e.bin'), tmp.path('direct.bin'));
    expect(report.state).toBe('succeeded');
    expect(proxy.requests).toEqual([]);
    expect(target.received).toHaveLength(1);
  });

  it('lets config.proxyUrl win over the environment', async () => {
    setEnvironment({ HTTP_PROXY: other.url });
    const report = await fetchOne(downloaders.create({ proxyUrl: proxy.url }), target.url('/files/e.bin'), tmp.path('config.bin'));
    expect(report.state).toBe('succeeded');
    expect(proxy.requests).toHaveLength(1);
    expect(other.requests).toEqual([]);
  });
});
