import { readFile } from 'node:fs/promises';
import { type HttpFixture, httpFixture, type TlsMaterial, tlsMaterial } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const https: HttpFixture = httpFixture({ tls: true });
const mtls: HttpFixture = httpFixture({ requestClientCert: true });
const expired: HttpFixture = httpFixture({ tls: true, certificate: 'expired' });
const downloaders = new Downloaders();
let tmp: Scratch;
let tls: TlsMaterial;
const body = randomBytes(70_000);

beforeAll(async () => {
  await Promise.all([https.start(), mtls.start(), expired.start()]);
  await Promise.all([https.publish('f.bin', body), mtls.publish('f.bin', body), expired.publish('f.bin', body)]);
  tls = await tlsMaterial();
  tmp = await scratch();
});
afterAll(async () => {
  await Promise.all([https.stop(), mtls.stop(), expired.stop()]);
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  https.reset();
  mtls.reset();
});

async function expectFile(name: string): Promise<void> {
  expect((await readFile(tmp.path(name))).equals(body)).toBe(true);
}

describe('server verification', () => {
  it('trusts a CA given as data', async () => {
    const report = await fetchOne(downloaders.create({ sslCaCert: tls.ca.cert }), https.url('/files/f.bin'), tmp.path('ca-data.bin'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    await expectFile('ca-data.bin');
  });

  it('trusts a CA given as a path', async () => {
    const report = await fetchOne(downloaders.create({ sslCaCertPath: tls.caPath }), https.url('/files/f.bin'), tmp.path('ca-path.bin'));
    expect(report.state).toBe('succeeded');
    await expectFile('ca-path.bin');
  });

  it('also trusts the CA with sslCaMode extend', async () => {
    const report = await fetchOne(downloaders.create({ sslCaCert: tls.ca.cert, sslCaMode: 'extend' }), https.url('/files/f.bin'), tmp.path('ca-extend.bin'));
    expect(report.state).toBe('succeeded');
  });

  it('rejects an unknown CA by default with NECTAR_TLS, not retryable, leaving nothing', async () => {
    const report = await fetchOne(downloaders.create({ retries: 2 }), https.url('/files/f.bin'), tmp.path('no-ca.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_TLS', url: https.url('/files/f.bin') });
    expect(report.attempts).toBe(1);
    expect((await tmp.files()).filter((f) => f.includes('no-ca.bin'))).toEqual([]);
  });

  it('rejects an expired certificate even from a trusted CA', async () => {
    const report = await fetchOne(downloaders.create({ sslCaCert: tls.ca.cert }), expired.url('/files/f.bin'), tmp.path('expired.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport.code).toBe('NECTAR_TLS');
    expect(report.errorReport.undiciCode).toBe('CERT_HAS_EXPIRED');
  });

  it('downloads from an untrusted server with sslValidation false', async () => {
    const report = await fetchOne(downloaders.create({ sslValidation: false }), https.url('/files/f.bin'), tmp.path('insecure.bin'));
    expect(report.state).toBe('succeeded');
    await expectFile('insecure.bin');
  });
});

describe('client certificates', () => {
  it('presents a certificate and key given as data', async () => {
    const downloader = downloaders.create({ sslCaCert: tls.ca.cert, sslClientCert: tls.client.cert, sslClientKey: tls.client.key });
    const report = await fetchOne(downloader, mtls.url('/files/f.bin'), tmp.path('client-data.bin'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(mtls.received[0]?.clientCertSubject).toBe(tls.clientSubject);
    await expectFile('client-data.bin');
  });

  it('presents a certificate and key given as paths', async () => {
    const downloader = downloaders.create({ sslCaCertPath: tls.caPath, sslClientCertPath: tls.clientCertPath, sslClientKeyPath: tls.clientKeyPath });
    const report = await fetchOne(downloader, mtls.url('/files/f.bin'), tmp.path('client-path.bin'));
    expect(report.state).toBe('succeeded');
    expect(mtls.received[0]?.clientCertSubject).toBe(tls.clientSubject);
  });

  it('fails without a client certificate, leaving nothing', async () => {
    const report = await fetchOne(downloaders.create({ sslCaCert: tls.ca.cert }), mtls.url('/files/f.bin'), tmp.path('client-none.bin'));
    expect(report.state).toBe('failed');
    expect(['NECTAR_TLS', 'NECTAR_NETWORK']).toContain(report.errorReport.code);
    expect((await tmp.files()).filter((f) => f.includes('client-none.bin'))).toEqual([]);
  });

  it('fails a key that is not a key with NECTAR_TLS', async () => {
    const downloader = downloaders.create({ sslCaCert: tls.ca.cert, sslClientCert: tls.client.cert, sslClientKey: 'not a pem' });
    const report = await fetchOne(downloader, mtls.url('/files/f.bin'), tmp.path('client-bad.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport.code).toBe('NECTAR_TLS');
  });
});
