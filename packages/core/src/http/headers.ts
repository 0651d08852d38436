import type { ResolvedConfig } from '../config.js';
import type { DownloadRequest } from '../request.js';
import { version } from '../version.js';

export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Header sets merged left to right, names lower-cased; a later set wins. */
export function mergeHeaders(...sets: Array<Readonly<Record<string, string>> | undefined>): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const set of sets) {
    if (set === undefined) continue;
    for (const [name, value] of Object.entries(set)) merged[name.toLowerCase()] = value;
  }
  return merged;
}

/**
 * The headers of one attempt, the one way every HTTP backend builds them: our defaults, then the
 * config's headers, then the request's; basic auth from the config unless an Authorization
 * header was given explicitly. `url` is the attempt's: the request's own, or one of its mirrors.
 */
export function requestHeaders(config: ResolvedConfig, request: DownloadRequest, url: string = request.url): Record<string, string> {
  const headers = mergeHeaders(
    {
      'user-agent': config.userAgent ?? `nectar/${version}`,
      // Bytes on disk are the bytes the server holds: no transparent gunzip of a .tar.gz.
      'accept-encoding': config.decompress ? 'gzip, deflate, br' : 'identity',
    },
    config.headers,
    ownHeaders(config, request, url),
  );
  if (headers.authorization === undefined) {
    // Credentials in the URL are the most specific, as with curl; then the config's. Without an
    // '@' anywhere the URL has none, and is not parsed again.
    const parsed = url.includes('@') ? new URL(url) : null;
    if (parsed !== null && parsed.username !== '') headers.authorization = basicAuthorization(decodeURIComponent(parsed.username), decodeURIComponent(parsed.password));
    else if (config.basicAuthUsername !== undefined) headers.authorization = basicAuthorization(config.basicAuthUsername, config.basicAuthPassword ?? '');
  }
  return headers;
}

/** Headers that carry credentials of one origin. */
const credentialHeaders = ['authorization', 'cookie', 'proxy-authorization'];

/**
 * The request's own headers for one of its URLs. Credentials given with a request (an
 * Authorization or Cookie, say from a .netrc entry for its host) are its URL's origin's: a mirror
 * on another origin does not get them, as a cross-origin redirect does not (`trustRedirects`
 * keeps them for both). The config's headers are the whole downloader's, sent to every origin.
 */
function ownHeaders(config: ResolvedConfig, request: DownloadRequest, url: string): Readonly<Record<string, string>> {
  if (url === request.url || config.trustRedirects || sameOrigin(url, request.url)) return request.headers;
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!credentialHeaders.includes(name.toLowerCase())) kept[name] = value;
  }
  return kept;
}

function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin;
}
