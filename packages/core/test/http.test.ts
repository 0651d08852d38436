import { describe, expect, it } from 'vitest';
import { DownloaderConfig, DownloadRequest, redactUrl, withDefaults } from '../src/backend.js';
import { type AnsweredJob, announcedSize, conditionalHeaders, isConditional, responseValidators, contentCodings, contentLength, failureContext, failurePlace, headerValue, httpStatusError, interpretResponse, parseContentRange, parseRetryAfter, proxyError, proxyTlsOptions, RedirectTracker, rangeHeaders, requestHeaders, resumeValidator, targetTlsOptions, undecodableError } from '../src/http.js';

const settings = (options = {}) => withDefaults(new DownloaderConfig(options));

describe('requestHeaders', () => {
  it('merges defaults, config and request headers (request wins) and adds basic auth', () => {
    const config = settings({ headers: { 'X-A': 'config', 'X-B': 'config' }, basicAuthUsername: 'me', basicAuthPassword: '' });
    const headers = requestHeaders(config, new DownloadRequest('https://h/f', '/tmp/f', { headers: { 'x-b': 'request' } }));
    expect(headers).toMatchObject({ 'x-a': 'config', 'x-b': 'request', 'accept-encoding': 'identity', authorization: `Basic ${btoa('me:')}` });
    expect(headers['user-agent']).toMatch(/^nectar\/\d/);
  });

  it('lets an explicit Authorization header win over basic auth', () => {
    const config = settings({ basicAuthUsername: 'me', headers: { Authorization: 'Bearer t' } });
    expect(requestHeaders(config, new DownloadRequest('https://h/f', '/tmp/f')).authorization).toBe('Bearer t');
  });
});

describe('RedirectTracker', () => {
  const headers = { authorization: 'Basic x', cookie: 'c', 'x-custom': '1', accept: '*/*', 'user-agent': 'ua', range: 'bytes=5-' };

  it('keeps every header on the same origin and only the keep-list on another', () => {
    const tracker = new RedirectTracker('http://a.test/x', settings());
    const same = tracker.follow(new URL('http://a.test/x'), 302, '/y', 'GET', headers);
    expect(same.headers).toEqual(headers);
    const other = tracker.follow(same.url, 302, 'http://b.test/z', 'GET', same.headers);
    expect(other.headers).toEqual({ accept: '*/*', 'user-agent': 'ua', range: 'bytes=5-' });
  });

  it('keeps all with trustRedirects, detects loops and counts hops', () => {
    expect(new RedirectTracker('http://a.test/', settings({ trustRedirects: true })).follow(new URL('http://a.test/'), 301, 'http://b.test/', 'GET', headers).headers).toEqual(headers);
    const tracker = new RedirectTracker('http://a.test/1', settings({ maxRedirects: 3 }));
    tracker.follow(new URL('http://a.test/1'), 302, '/2', 'GET', {});
    expect(() => tracker.follow(new URL('http://a.test/2'), 302, '/1', 'GET', {})).toThrow(expect.objectContaining({ code: 'NECTAR_REDIRECT_LOOP' }));
    const limited = new RedirectTracker('http://a.test/0', settings({ maxRedirects: 1 }));
    limited.follow(new URL('http://a.test/0'), 302, '/1', 'GET', {});
    expect(() => limited.follow(new URL('http://a.test/1'), 302, '/2', 'GET', {})).toThrow(expect.objectContaining({ code: 'NECTAR_TOO_MANY_REDIRECTS' }));
  });

  it('says which URLs fall under the cross-origin rule', () => {
    const tracker = new RedirectTracker('http://a.test/x', settings());
    expect(tracker.crossOrigin(new URL('http://a.test/elsewhere?q'))).toBe(false);
    expect(tracker.crossOrigin(new URL('http://a.test:8080/x'))).toBe(true);
    expect(tracker.crossOrigin(new URL('https://a.test/x'))).toBe(true);
    expect(new RedirectTracker('http://a.test/x', settings({ trustRedirects: true })).crossOrigin(new URL('http://b.test/'))).toBe(false);
  });

  it('refuses redirects to other schemes and redirects without Location', () => {
    const tracker = new RedirectTracker('http://a.test/', settings());
    expect(() => tracker.follow(new URL('http://a.test/'), 302, 'file:///etc/passwd', 'GET', {})).toThrow(/only http and https/);
    expect(() => tracker.follow(new URL('http://a.test/'), 302, undefined, 'GET', {})).toThrow(/no Location/);
  });
});

describe('status errors', () => {
  it('marks 408/429/5xx-transient retryable and 404 not, with Retry-After in ms', () => {
    expect(httpStatusError(503, 'Service Unavailable', 'http://h/', { 'retry-after': '2' })).toMatchObject({ retryable: true, details: { status: 503, retryAfter: 2000 } });
    expect(httpStatusError(404, 'Not Found', 'http://h/').retryable).toBe(false);
    expect(parseRetryAfter(new Date(Date.now() + 5000).toUTCString())).toBeGreaterThan(3000);
    expect(parseRetryAfter('soon')).toBeUndefined();
  });

  it('never prints a password from a URL', () => {
    expect(redactUrl('sftp://me:secret@h/x')).toBe('sftp://me:***@h/x');
    expect(httpStatusError(401, 'Unauthorized', 'http://me:secret@h/').message).not.toContain('secret');
  });
});

describe('credentials in the URL', () => {
  it('become basic auth, winning over the config', () => {
    const config = settings({ basicAuthUsername: 'config', basicAuthPassword: 'x' });
    const headers = requestHeaders(config, new DownloadRequest('https://me:p%40ss@h/f', '/tmp/f'));
    expect(headers.authorization).toBe(`Basic ${btoa('me:p@ss')}`);
  });
});

describe('proxyError', () => {
  const context = { url: new URL('http://h.test/f'), proxy: new URL('http://user:secret@proxy.test:3128') };

  it('names the credential fields for a 407 and retries only gateway errors', () => {
    const auth = proxyError(407, 'Proxy Authentication Required', context);
    expect(auth).toMatchObject({ code: 'NECTAR_PROXY', retryable: false, details: { status: 407, url: 'http://h.test/f', proxy: 'http://user:***@proxy.test:3128/' } });
    expect(auth.message).toContain('config.proxyUsername');
    expect(auth.message).not.toContain('secret');
    expect(proxyError(403, 'Forbidden', context).retryable).toBe(false);
    expect(proxyError(503, 'Service Unavailable', context)).toMatchObject({ retryable: true, message: expect.stringContaining('503') });
    expect(proxyError(407, '', { url: context.url, proxy: null }).details.proxy).toBeNull();
  });

  it('keeps the transport error as its cause', () => {
    const cause = new Error('Proxy response (407) !== 200 when HTTP Tunneling');
    expect(proxyError(407, 'Proxy Authentication Required', context, cause).cause).toBe(cause);
    expect(failurePlace({ url: context.url, proxy: null })).toBe('http://h.test/f');
    expect(failureContext({ url: context.url, proxy: { url: context.proxy } })).toEqual({ url: context.url, proxy: context.proxy });
    expect(failureContext({ url: context.url, proxy: null }).proxy).toBeNull();
  });
});

describe('response headers', () => {
  const headers = { 'content-length': '1234', 'content-range': 'bytes 100-1233/1234', etag: 'W/"weak"', 'last-modified': 'Tue, 01 Jul 2025 00:00:00 GMT', 'set-cookie': ['a=1', 'b=2'] };

  it('reads first values, lengths and ranges', () => {
    expect(headerValue(headers, 'set-cookie')).toBe('a=1');
    expect(headerValue(headers, 'missing')).toBeUndefined();
    expect(contentLength(headers)).toBe(1234);
    expect(contentLength({ 'content-length': '12abc' })).toBeNull();
    expect(contentLength({ 'content-length': '99999999999999999999' })).toBeNull();
    expect(parseContentRange('bytes 100-199/1234')).toEqual({ start: 100, size: 1234 });
    expect(parseContentRange('bytes */1234')).toEqual({ start: null, size: 1234 });
    expect(parseContentRange('bytes 0-9/*')).toEqual({ start: 0, size: null });
    expect(parseContentRange('items 0-9/10')).toBeUndefined();
  });

  it('announces the whole size: Content-Length of a 200, Content-Range of a 206', () => {
    expect(announcedSize(200, { 'content-length': '50' })).toBe(50);
    expect(announcedSize(206, headers)).toBe(1234);
    expect(announcedSize(206, { 'content-length': '10' })).toBeNull();
    expect(announcedSize(200, {})).toBeNull();
  });

  it('takes a strong ETag as validator, else Last-Modified, never a weak ETag', () => {
    expect(resumeValidator({ etag: '"v1"', 'last-modified': 'x' })).toBe('"v1"');
    expect(resumeValidator(headers)).toBe('Tue, 01 Jul 2025 00:00:00 GMT');
    expect(resumeValidator({})).toBeNull();
  });

  it('lists content codings without identity, from one header or several', () => {
    expect(contentCodings('gzip, BR')).toEqual(['gzip', 'br']);
    expect(contentCodings(['identity', 'deflate'])).toEqual(['deflate']);
    expect(contentCodings(undefined)).toEqual([]);
    expect(undecodableError(new URL('http://me:pw@h/f'), 'zstd')).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', details: { contentEncoding: 'zstd', url: 'http://me:***@h/f' } });
  });
});

describe('resume requests', () => {
  const job = (offset: number, validator: string | null, options = {}): AnsweredJob => ({ config: settings(options), offset, validator, proxy: null, range: null });

  it('asks for the rest of the file, with If-Range when a validator is known', () => {
    expect(rangeHeaders(job(0, '"v"'))).toEqual({});
    expect(rangeHeaders(job(100, null))).toEqual({ range: 'bytes=100-' });
    expect(rangeHeaders(job(100, '"v"'))).toEqual({ range: 'bytes=100-', 'if-range': '"v"' });
    // Decoded bytes on disk do not map onto a range of the encoded body.
    expect(rangeHeaders(job(100, '"v"', { decompress: true }))).toEqual({});
  });
});

describe('interpretResponse', () => {
  const url = new URL('http://h.test/f');
  const job = (offset = 0, options = {}, validator: string | null = '"v"'): AnsweredJob => ({ config: settings(options), offset, validator, proxy: null, range: null });

  it('reports the size and validator of a 200', () => {
    const outcome = interpretResponse(job(), { status: 200, headers: { 'content-length': '10', etag: '"v2"' }, url });
    expect(outcome).toEqual({
      kind: 'body',
      response: { status: 200, headers: { 'content-length': '10', etag: '"v2"' }, finalUrl: url.href, totalBytes: 10, resumed: false, validator: '"v2"', ranges: false },
    });
    // Ranges need both the announcement and a validator to name the version with (If-Range).
    const ranged = (headers: Record<string, string>) => interpretResponse(job(), { status: 200, headers: { 'content-length': '10', ...headers }, url });
    expect(ranged({ 'accept-ranges': 'bytes', etag: '"v2"' })).toMatchObject({ response: { ranges: true } });
    expect(ranged({ 'accept-ranges': 'bytes' })).toMatchObject({ response: { ranges: false } });
    expect(ranged({ 'accept-ranges': 'none', etag: '"v2"' })).toMatchObject({ response: { ranges: false } });
  });

  it('accepts a 206 that continues at the offset and refuses one that does not', () => {
    const resumed = interpretResponse(job(4), { status: 206, headers: { 'content-range': 'bytes 4-9/10' }, url });
    expect(resumed).toMatchObject({ kind: 'body', response: { resumed: true, totalBytes: 10 } });
    expect(() => interpretResponse(job(4), { status: 206, headers: { 'content-range': 'bytes 0-9/10' }, url })).toThrow(
      expect.objectContaining({ code: 'NECTAR_RESUME', details: expect.objectContaining({ offset: 4, contentRange: 'bytes 0-9/10' }) }),
    );
  });

  it('takes a 416 whose size is the offset as complete, any other 416 as a failure', () => {
    expect(interpretResponse(job(10), { status: 416, headers: { 'content-range': 'bytes */10' }, url })).toEqual({
      kind: 'complete',
      response: { status: 416, headers: { 'content-range': 'bytes */10' }, finalUrl: url.href, totalBytes: 10, resumed: true, validator: '"v"' },
    });
    const other = interpretResponse(job(10), { status: 416, headers: { 'content-range': 'bytes */20' }, url });
    expect(other).toMatchObject({ kind: 'refused', error: { code: 'NECTAR_HTTP_STATUS', details: { status: 416, statusText: 'Range Not Satisfiable' } } });
  });

  it('fills in the reason phrase and reads Retry-After of an error status', () => {
    const outcome = interpretResponse(job(), { status: 503, statusText: '', headers: { 'retry-after': '3' }, url });
    expect(outcome).toMatchObject({ kind: 'refused', error: { retryable: true, details: { statusText: 'Service Unavailable', retryAfter: 3000 } } });
  });

  it('turns a 407 or a refused tunnel into a proxy error naming the proxy', () => {
    const proxied: AnsweredJob = { ...job(), proxy: { url: new URL('http://proxy.test:3128') } };
    expect(interpretResponse(proxied, { status: 407, headers: {}, url })).toMatchObject({ kind: 'refused', error: { code: 'NECTAR_PROXY', details: { status: 407, proxy: 'http://proxy.test:3128/' } } });
    expect(interpretResponse(proxied, { status: 403, headers: {}, url, tunnelRefused: true })).toMatchObject({ error: { code: 'NECTAR_PROXY', details: { status: 403 } } });
    expect(interpretResponse(proxied, { status: 403, headers: {}, url })).toMatchObject({ error: { code: 'NECTAR_HTTP_STATUS' } });
  });

  it('announces no size for a body that is decoded, going by the encoding as sent', () => {
    const gzip = { 'content-length': '10', 'content-encoding': 'gzip' };
    expect(interpretResponse(job(0, { decompress: true }), { status: 200, headers: gzip, url })).toMatchObject({ response: { totalBytes: null } });
    expect(interpretResponse(job(0, { decompress: false }), { status: 200, headers: gzip, url })).toMatchObject({ response: { totalBytes: 10 } });
    // A transport that deleted Content-Encoding while decoding says what was sent.
    const decoded = interpretResponse(job(0, { decompress: true }), { status: 200, headers: { 'content-length': '10' }, url, contentEncoding: 'br' });
    expect(decoded).toMatchObject({ response: { totalBytes: null } });
  });
});

describe('TLS connection options', () => {
  const material = { rejectUnauthorized: false, ca: ['CA'], cert: 'CERT', key: 'KEY', passphrase: 'pw' };

  it('give the target the client certificate and the proxy only the trust', () => {
    expect(targetTlsOptions(material)).toEqual({ rejectUnauthorized: false, ca: ['CA'], cert: 'CERT', key: 'KEY', passphrase: 'pw' });
    expect(proxyTlsOptions(material)).toEqual({ rejectUnauthorized: false, ca: ['CA'] });
    expect(targetTlsOptions({ rejectUnauthorized: true })).toEqual({ rejectUnauthorized: true });
  });
});

describe('conditional requests', () => {
  const url = new URL('http://h.test/f');
  const job = (headers: Record<string, string>): AnsweredJob => ({ config: settings({}), offset: 0, validator: null, proxy: null, range: null, headers });

  it('builds If-None-Match and If-Modified-Since from what is known, nothing from nothing', () => {
    expect(conditionalHeaders({ etag: 'W/"a"', lastModified: 'Tue, 01 Dec 2026 10:00:00 GMT' })).toEqual({
      'if-none-match': 'W/"a"',
      'if-modified-since': 'Tue, 01 Dec 2026 10:00:00 GMT',
    });
    expect(conditionalHeaders({ etag: null, lastModified: null })).toEqual({});
    expect(conditionalHeaders(null)).toEqual({});
    expect(responseValidators({ etag: '"e"', 'last-modified': 'x' })).toEqual({ etag: '"e"', lastModified: 'x' });
  });

  it('takes a 304 as "unchanged" only for a request that was conditional; otherwise it is a status error', () => {
    const asked = interpretResponse(job({ 'if-none-match': '"e"' }), { status: 304, headers: { etag: '"e"' }, url });
    expect(asked).toMatchObject({ kind: 'complete', response: { status: 304, unchanged: true, totalBytes: null } });
    expect(isConditional({ 'if-modified-since': 'x' })).toBe(true);
    const unasked = interpretResponse(job({}), { status: 304, headers: {}, url });
    expect(unasked).toMatchObject({ kind: 'refused', error: { code: 'NECTAR_HTTP_STATUS', details: { status: 304 } } });
  });
});
