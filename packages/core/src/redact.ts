/**
 * The one owner of "no secret in anything the library produces". Reports, errors, events and
 * logs show URLs and messages through here: URL passwords, the values of token query parameters
 * and every secret the caller configured (auth and proxy passwords, Authorization values) become
 * `***`. The caller's own DownloadRequest keeps exactly what the caller gave.
 */

/**
 * Query parameters whose values are credentials, compared case-insensitively: OAuth and API
 * tokens, and the signatures of pre-signed S3, Google Cloud Storage and Azure URLs.
 * `config.redactParams` adds more.
 */
export const secretQueryParams: readonly string[] = Object.freeze([
  'token',
  'access_token',
  'refresh_token',
  'id_token',
  'auth',
  'key',
  'api_key',
  'apikey',
  'password',
  'passwd',
  'secret',
  'client_secret',
  'sig',
  'signature',
  'x-amz-signature',
  'x-amz-credential',
  'x-amz-security-token',
  'x-goog-signature',
  'x-goog-credential',
]);

const MASK = '***';

const defaultParams = new Set(secretQueryParams);

/** A URL fit for a log line or a report: password and secret query values masked, the username kept. */
export function redactUrl(url: string | URL, params: ReadonlySet<string> = defaultParams): string {
  const parsed = url instanceof URL ? new URL(url) : parseOrNull(url);
  if (parsed === null) return redactText(String(url), params);
  if (parsed.password !== '') parsed.password = MASK;
  if (parsed.search !== '') parsed.search = maskParams(parsed.search, params);
  // A fragment is never sent, but OAuth's implicit flow puts its access_token there.
  if (parsed.hash !== '') parsed.hash = maskParams(parsed.hash, params);
  return parsed.href;
}

/** `?a=1&token=x` or `#access_token=x&…` with secret values masked; rewritten by hand rather than through searchParams, which would re-encode every other value. */
function maskParams(part: string, params: ReadonlySet<string>): string {
  return part.replace(/([?&#])([^=&#?]*)=([^&#]*)/g, (whole, lead: string, name: string) => (params.has(safeDecode(name).toLowerCase()) ? `${lead}${name}=${MASK}` : whole));
}

/**
 * Masks what looks like a credential in free text (a message, a cause, a line the user typed):
 * the password of anything shaped `scheme://user:password@`, or `user:password@host` without a
 * scheme, and the values of secret query parameters.
 */
export function redactText(text: string, params: ReadonlySet<string> = defaultParams): string {
  return text
    // Greedy to the last '@' of the word: a password may hold one ("u:p@ss@host").
    .replace(/((?:[a-z][a-z0-9+.-]*:\/\/|^|[\s"'(<=])[^\s:/@"'<>]*:)[^\s/"'<>]+@/gi, `$1${MASK}@`)
    // A value ends where the query does, or before a ':' that ends the URL in a sentence ("…?sig=x: reset").
    .replace(/([?&;#])([^=&#?\s"'<>]*)=([^&#\s"'<>]*?)(?=[&#\s"'<>]|:(?:\s|$)|$)/g, (whole, lead: string, name: string) =>
      params.has(safeDecode(name).toLowerCase()) ? `${lead}${name}=${MASK}` : whole,
    );
}

/** One parse, not canParse() and then a second one. */
function parseOrNull(url: string): URL | null {
  try {
    return new URL(url);
  } catch {
    return null;
  }
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/**
 * Masks everything secret that one downloader or one request knows of: the patterns above, plus
 * each literal secret wherever it appears (a backend's message may quote a URL or a header in
 * any shape). Literals shorter than four characters are left to the patterns: masking every
 * "ab" in a message would make it unreadable without hiding anything worth hiding.
 */
export class Redactor {
  readonly params: ReadonlySet<string>;
  readonly #secrets: string[];

  constructor(secrets: Iterable<string | undefined> = [], extraParams: Iterable<string> = [], params?: ReadonlySet<string>) {
    this.params = params ?? new Set([...secretQueryParams, ...[...extraParams].map((p) => p.toLowerCase())]);
    const literal = new Set<string>();
    for (const secret of secrets) {
      if (secret === undefined || secret.length < 4) continue;
      literal.add(secret);
      literal.add(encodeURIComponent(secret));
    }
    // Longest first, so that a secret containing another is masked whole.
    this.#secrets = [...literal].sort((a, b) => b.length - a.length);
  }

  /** A copy that also masks the secrets of one request (URL password, token values, headers); itself when there are none. */
  with(secrets: readonly (string | undefined)[]): Redactor {
    if (secrets.length === 0) return this;
    return new Redactor([...this.#secrets, ...secrets], [], this.params);
  }

  url(url: string | URL): string {
    return this.text(redactUrl(url, this.params));
  }

  text(text: string): string {
    // Both patterns need an '@' or an '=': most URLs and messages have neither.
    let masked = text.includes('@') || text.includes('=') ? redactText(text, this.params) : text;
    for (const secret of this.#secrets) if (masked.includes(secret)) masked = masked.split(secret).join(MASK);
    return masked;
  }

  /** Every string in a plain value (an errorReport), masked; other values kept as they are. */
  value(value: unknown, depth = 0): unknown {
    if (typeof value === 'string') return this.text(value);
    if (depth > 8 || typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map((item) => this.value(item, depth + 1));
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) copy[key] = this.value(item, depth + 1);
    return copy;
  }
}

/** The secrets a URL carries: its password and the values of its secret query (and fragment) parameters. */
export function urlSecrets(url: string, params: ReadonlySet<string> = defaultParams): string[] {
  // Neither a password, a query nor a fragment without these: no parse needed.
  if ((!url.includes('@') && !url.includes('?') && !url.includes('#')) || !URL.canParse(url)) return [];
  const parsed = new URL(url);
  const secrets = parsed.password === '' ? [] : [parsed.password, safeDecode(parsed.password)];
  for (const [name, value] of [...parsed.searchParams, ...fragmentParams(parsed.hash)]) {
    if (params.has(name.toLowerCase()) && value !== '') secrets.push(value);
  }
  return secrets;
}

/**
 * The parameters a URL's fragment carries: `#access_token=…` (OAuth's implicit flow), and those
 * after a '?' in it (`#/callback?access_token=…`, a single-page app's router).
 */
export function fragmentParams(hash: string): Array<[string, string]> {
  const fragment = hash.startsWith('#') ? hash.slice(1) : hash;
  const routed = fragment.indexOf('?');
  return [...new URLSearchParams(fragment), ...(routed === -1 ? [] : new URLSearchParams(fragment.slice(routed + 1)))];
}

/** The secret part of an Authorization-style header value: the credentials after the scheme. */
export function headerSecrets(headers: Readonly<Record<string, string>>): string[] {
  const secrets: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (!/^(proxy-)?authorization$|^cookie$|(^|-)(api-?key|token|secret)$/i.test(name)) continue;
    secrets.push(value);
    const credentials = value.slice(value.indexOf(' ') + 1);
    if (credentials !== value) secrets.push(credentials);
    if (/^basic /i.test(value)) {
      const decoded = Buffer.from(credentials, 'base64').toString('utf8');
      secrets.push(decoded, decoded.slice(decoded.indexOf(':') + 1));
    }
  }
  return secrets;
}
