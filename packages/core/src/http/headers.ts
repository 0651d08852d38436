import type { ResolvedConfig } from '../config.js';
import type { DownloadRequest } from '../request.js';
import { version } from '../version.js';
import { keptAcrossOrigins } from './redirects.js';

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
  const own = ownOrigin(config, request, url);
  const headers = mergeHeaders(
    {
      'user-agent': config.userAgent ?? `nectar/${version}`,
      // Bytes on disk are the bytes the server holds: no transparent gunzip of a .tar.gz.
      'accept-encoding': config.decompress ? 'gzip, deflate, br' : 'identity',
    },
    config.headers,
    own ? request.headers : keptAcrossOrigins(config, request.headers),
  );
  if (headers.authorization === undefined) {
    // Credentials in the URL are the most specific, as with curl: the attempt's own, else the
    // request's where they may go; then the config's.
    const userinfo = userinfoAuthorization(url) ?? (own && url !== request.url ? userinfoAuthorization(request.url) : null);
    if (userinfo !== null) headers.authorization = userinfo;
    else if (config.basicAuthUsername !== undefined) headers.authorization = basicAuthorization(config.basicAuthUsername, config.basicAuthPassword ?? '');
  }
  return headers;
}

/**
 * Whether `url` may get what was given with the request (its headers, its URL's userinfo): its
 * own URL, a mirror on the same origin, or any with `trustRedirects`. A mirror on another origin
 * is treated as a cross-origin redirect is (redirects.ts): the config's headers, which are the
 * whole downloader's, still go everywhere.
 */
function ownOrigin(config: ResolvedConfig, request: DownloadRequest, url: string): boolean {
  return url === request.url || config.trustRedirects || new URL(url).origin === new URL(request.url).origin;
}

/** Basic auth from a URL's userinfo, or null. Without an '@' the URL has none, and is not parsed again. */
export function userinfoAuthorization(url: string): string | null {
  if (!url.includes('@')) return null;
  const { username, password } = new URL(url);
  return username === '' ? null : basicAuthorization(decodeURIComponent(username), decodeURIComponent(password));
}
