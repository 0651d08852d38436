import { describe, expect, it } from 'vitest';
import { DownloaderConfig, DownloadRequest, httpStatusError, parseRetryAfter, RedirectTracker, redactUrl, requestHeaders, withDefaults } from '../src/index.js';

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
