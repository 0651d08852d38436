import { describe, expect, it } from 'vitest';
import { NectarError, classifyErrorCode, errorCodeOf, toNectarError } from '../src/backend.js';
import { transportError } from '../src/http.js';

const errno = (code: string, message = `${code} happened`) => Object.assign(new Error(message), { code });

describe('classifyErrorCode', () => {
  it('retries connection trouble but not a name that does not resolve', () => {
    expect(classifyErrorCode('ECONNREFUSED')).toMatchObject({ code: 'NECTAR_CONNECT', retryable: true });
    expect(classifyErrorCode('EAI_AGAIN')).toMatchObject({ code: 'NECTAR_CONNECT', retryable: true });
    expect(classifyErrorCode('ENOTFOUND')).toMatchObject({ code: 'NECTAR_CONNECT', retryable: false });
    expect(classifyErrorCode('ECONNRESET')).toMatchObject({ code: 'NECTAR_NETWORK', retryable: true });
    expect(classifyErrorCode('ECONNABORTED')).toMatchObject({ code: 'NECTAR_NETWORK', retryable: true });
    expect(classifyErrorCode('ERR_STREAM_PREMATURE_CLOSE')).toMatchObject({ code: 'NECTAR_NETWORK', retryable: true });
    expect(classifyErrorCode('ETIMEDOUT')).toMatchObject({ code: 'NECTAR_TIMEOUT', retryable: true, details: { timeout: 'connect' } });
  });

  it('never retries TLS failures, by verify code or by prefix', () => {
    for (const code of ['DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ERR_OSSL_EVP_BAD_DECRYPT', 'EPROTO']) {
      expect(classifyErrorCode(code), code).toMatchObject({ code: 'NECTAR_TLS', retryable: false });
    }
  });

  it('reads HTTP parser errors as a peer that does not speak HTTP, and knows nothing else', () => {
    expect(classifyErrorCode('HPE_INVALID_CONSTANT')).toMatchObject({ code: 'NECTAR_NETWORK', retryable: false });
    expect(classifyErrorCode('ENOENT')).toMatchObject({ code: 'NECTAR_NOT_FOUND', retryable: false });
    expect(classifyErrorCode('UND_ERR_SOCKET')).toBeUndefined();
    expect(classifyErrorCode('toString')).toBeUndefined();
  });
});

describe('errorCodeOf', () => {
  it('finds the outermost code, looking through causes', () => {
    expect(errorCodeOf(errno('ECONNRESET'))).toBe('ECONNRESET');
    expect(errorCodeOf(new Error('wrapped', { cause: errno('EPIPE') }))).toBe('EPIPE');
    expect(errorCodeOf(Object.assign(new Error('axios'), { code: 'ERR_BAD_RESPONSE', cause: errno('EPIPE') }))).toBe('ERR_BAD_RESPONSE');
    expect(errorCodeOf(Object.assign(new Error('numeric'), { code: 42 }))).toBeUndefined();
    expect(errorCodeOf('text')).toBeUndefined();
  });
});

describe('toNectarError', () => {
  it('uses the shared table and keeps the errno', () => {
    expect(toNectarError(errno('ENOTFOUND'))).toMatchObject({ code: 'NECTAR_CONNECT', retryable: false, details: { errno: 'ENOTFOUND' } });
    expect(toNectarError(errno('ERR_STREAM_PREMATURE_CLOSE'))).toMatchObject({ code: 'NECTAR_NETWORK', retryable: true });
    expect(toNectarError(errno('EWHATEVER'))).toMatchObject({ code: 'NECTAR_BACKEND', retryable: false, details: {} });
    const own = new NectarError('NECTAR_AUTH', 'no');
    expect(toNectarError(own)).toBe(own);
  });
});

describe('transportError', () => {
  it('names the URL and proxy without passwords and keeps the original message', () => {
    const cause = errno('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3128');
    const error = transportError(cause, { url: new URL('http://me:pw@h.test/f'), proxy: new URL('http://p:secret@proxy.test:3128') }, classifyErrorCode('ECONNREFUSED')!, { errno: 'ECONNREFUSED' });
    expect(error).toMatchObject({ code: 'NECTAR_CONNECT', retryable: true, cause, details: { url: 'http://me:***@h.test/f', proxy: 'http://p:***@proxy.test:3128/', errno: 'ECONNREFUSED' } });
    expect(error.message).toBe('http://me:***@h.test/f via proxy http://p:***@proxy.test:3128/: the connection was refused (connect ECONNREFUSED 127.0.0.1:3128)');
  });
});
