import type { ResolvedConfig } from '../config.js';
import { NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';

/** Headers that carry credentials: never sent to another origin unless redirects are trusted. */
const credentialHeaders = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** Headers Nectar itself sets to get the right bytes (identity encoding, a resume range): they follow. */
const transferHeaders = new Set(['accept-encoding', 'range', 'if-range']);

export interface RedirectHop {
  url: URL;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
}

/**
 * DESIGN's redirect rule, shared by every HTTP backend: at most `maxRedirects` hops, a URL seen
 * twice is a loop, only http(s) → http(s), and a cross-origin hop keeps only the keep-list of
 * headers (no credentials) unless `trustRedirects`.
 */
export class RedirectTracker {
  readonly #seen = new Set<string>();
  readonly #config: ResolvedConfig;
  readonly #origin: string;
  #hops = 0;

  constructor(start: string | URL, config: ResolvedConfig) {
    const url = new URL(start);
    this.#seen.add(url.href);
    this.#origin = url.origin;
    this.#config = config;
  }

  get hops(): number {
    return this.#hops;
  }

  /**
   * Whether a request to `url` falls under the cross-origin rule: another origin than the
   * start's, with trustRedirects off. For a transport that adds headers of its own (defaults of
   * a client instance), which must then be dropped too.
   */
  crossOrigin(url: URL): boolean {
    return !this.#config.trustRedirects && url.origin !== this.#origin;
  }

  /** The next request to make after a redirect response, or a NectarError saying why not. */
  follow(from: URL, status: number, location: string | undefined, method: string, headers: Record<string, string>): RedirectHop {
    if (location === undefined || location === '') {
      throw new NectarError('NECTAR_HTTP_STATUS', `${status} redirect from ${redactUrl(from)} has no Location header`, {
        details: { status, url: redactUrl(from) },
      });
    }
    const url = new URL(location, from);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new NectarError('NECTAR_NOT_SUPPORTED', `redirect from ${redactUrl(from)} to ${url.protocol} is not followed (only http and https)`, {
        details: { status, url: redactUrl(from), location: redactUrl(url) },
      });
    }
    if (++this.#hops > this.#config.maxRedirects) {
      throw new NectarError('NECTAR_TOO_MANY_REDIRECTS', `more than ${this.#config.maxRedirects} redirects, the last to ${redactUrl(url)}`, {
        details: { url: redactUrl(url), maxRedirects: this.#config.maxRedirects },
      });
    }
    if (this.#seen.has(url.href)) {
      throw new NectarError('NECTAR_REDIRECT_LOOP', `redirect loop: ${redactUrl(url)} was already visited`, {
        details: { url: redactUrl(url), hops: this.#hops },
      });
    }
    this.#seen.add(url.href);
    // 303, and 301/302 after a POST, become GET; we only ever GET or HEAD, so the method stays.
    return { url, method: method === 'HEAD' ? 'HEAD' : 'GET', headers: this.#headersFor(url, headers) };
  }

  #headersFor(url: URL, headers: Record<string, string>): Record<string, string> {
    if (!this.crossOrigin(url)) return { ...headers };
    return keptAcrossOrigins(this.#config, headers);
  }
}

/**
 * The headers that go to another origin than the one they were given for (a redirect, a
 * mirror): the keep-list (`redirectHeaders`) and the ones Nectar sets to get the right bytes,
 * never a credential.
 */
export function keptAcrossOrigins(config: ResolvedConfig, headers: Readonly<Record<string, string>>): Record<string, string> {
  const keep = new Set(config.redirectHeaders.map((h) => h.toLowerCase()));
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if ((keep.has(lower) || transferHeaders.has(lower)) && !credentialHeaders.has(lower)) kept[lower] = value;
  }
  return kept;
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}
