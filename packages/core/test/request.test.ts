import { resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DownloadReport, DownloadRequest } from '../src/index.js';

describe('DownloadRequest', () => {
  it('resolves a relative destination against the working directory at construction', () => {
    expect(new DownloadRequest('https://h/a', 'out/a.bin').destination).toBe(resolve(process.cwd(), 'out/a.bin'));
  });

  it('normalises an absolute destination exactly as resolve() does, whether or not it needs it', () => {
    const paths = ['/', '/a', '/a/', '/a//b', '//a', '/a/./b', '/./a', '/a/.', '/.', '/a/../b', '/../a', '/a/..', '/..', '/a/.b', '/a/..b', '/a/...', '/a/b.', '/a/b../c', '/a b/c', '/a\n/', '/a\r/', '/a\u2028/'];
    for (const path of paths) expect([path, new DownloadRequest('https://h/a', path).destination]).toEqual([path, resolve(path)]);
  });

  it('round-trips through JSON, a stream destination named, not serialised', () => {
    const request = new DownloadRequest('https://h/a', '/tmp/a', {
      data: { n: 1 },
      headers: { 'x-a': '1' },
      mirrors: ['https://m/a'],
      expectedSize: 3,
      expectedDigest: { algorithm: 'SHA256', value: 'AB' },
    });
    const copy = DownloadRequest.from(JSON.parse(JSON.stringify(request)));
    expect(copy).toEqual(request);
    expect(copy.expectedDigest).toEqual({ algorithm: 'sha256', value: 'ab' });
    expect(new DownloadRequest('https://h/a', new PassThrough()).toJSON().destination).toBe('[stream]');
  });

  it('names what is wrong', () => {
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { expectedDigest: { algorithm: 'nope', value: 'ab' } })).toThrow(/not a hash/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { expectedDigest: { algorithm: 'sha256', value: 'xyz' } })).toThrow(/hex/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { expectedSize: -1 })).toThrow(/expectedSize/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { mirrors: ['relative'] })).toThrow(/mirrors\[0\]/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a\0b')).toThrow(/NUL/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { headers: { a: 'x\r\ny' } })).toThrow(/headers.a holds a control character/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { signal: {} as never })).toThrow(/AbortSignal/);
    expect(() => DownloadRequest.from(null as never)).toThrow(/got null/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', null as never)).toThrow(/options must be an object/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', 'x' as never)).toThrow(/options must be an object/);
    expect(() => new DownloadRequest('https://h/a', '/tmp/a', { mirrors: 'https://m/' as never })).toThrow(/mirrors must be an array/);
  });
});

describe('DownloadReport', () => {
  it('starts waiting with zero bytes and an empty errorReport, and serialises dates as ISO strings', () => {
    const report = new DownloadReport(new DownloadRequest('https://h/a', '/tmp/a', { data: 'd' }));
    expect(report).toMatchObject({ state: 'waiting', bytesDownloaded: 0, totalBytes: null, startTime: null, errorReport: {}, data: 'd' });
    report.startTime = new Date('2026-01-02T03:04:05.000Z');
    expect(report.toJSON().startTime).toBe('2026-01-02T03:04:05.000Z');
  });
});
