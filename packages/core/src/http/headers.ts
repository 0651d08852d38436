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
 * The headers of one request, the one way every HTTP backend builds them: our defaults, then the
 * config's headers, then the request's; basic auth from the config unless an Authorization
 * header was given explicitly.
 */
export function requestHeaders(config: ResolvedConfig, request: DownloadRequest): Record<string, string> {
  const headers = mergeHeaders(
    {
      'user-agent': config.userAgent ?? `nectar/${version}`,
      // Bytes on disk are the bytes the server holds: no transparent gunzip of a .tar.gz.
      'accept-encoding': config.decompress ? 'gzip, deflate, br' : 'identity',
    },
    config.headers,
    request.headers,
  );
  if (headers.authorization === undefined) {
    // Credentials in the URL are the most specific, as with curl; then the config's. Without an
    // '@' anywhere the URL has none, and is not parsed again.
    const url = request.url.includes('@') ? new URL(request.url) : null;
    if (url !== null && url.username !== '') headers.authorization = basicAuthorization(decodeURIComponent(url.username), decodeURIComponent(url.password));
    else if (config.basicAuthUsername !== undefined) headers.authorization = basicAuthorization(config.basicAuthUsername, config.basicAuthPassword ?? '');
  }
  return headers;
}
