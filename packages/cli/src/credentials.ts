import type { Netrc } from './netrc.js';

/** `Authorization: Basic …` for a user and password, as -u sends them. */
export function basicAuthorization(login: string, password: string): string {
  return `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;
}

/**
 * The netrc credentials for one URL, as its request's Authorization header: per host, which
 * config.basicAuth (one pair for the whole run) cannot be. Only http(s) sends them, and a URL
 * carrying its own password keeps it (as curl). Core drops the header on a cross-origin redirect.
 */
export function netrcHeaders(netrc: Netrc, url: URL): Record<string, string> | undefined {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.password !== '') return undefined;
  const entry = netrc.find(url.hostname, decoded(url.username));
  if (entry === undefined || entry.login === '') return undefined;
  return { Authorization: basicAuthorization(entry.login, entry.password) };
}

/** Percent-decoded; a stray `%` is taken as typed. */
function decoded(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
