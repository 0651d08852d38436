import { NectarArgumentError } from './errors.js';
import { redactText } from './redact.js';
import { checkHeaders, describe } from './request.js';

/** The fields a downloader honours. Any other key is kept on the config and readable. */
export interface DownloaderConfigOptions {
  // --- the spec's fields
  basicAuthUsername?: string;
  basicAuthPassword?: string;
  /** Headers for every request; a request's own headers win. */
  headers?: Record<string, string>;
  /** Requests in flight at once (default 8). */
  maxConcurrent?: number;
  /** Bytes per second for the whole downloader, all requests together. */
  maxSpeed?: number;
  /** `http://host` or `https://host` (a port in the URL is allowed; `proxyPort` wins). */
  proxyUrl?: string;
  proxyPort?: number;
  proxyUsername?: string;
  proxyPassword?: string;
  /** Verify the server's certificate (default true). */
  sslValidation?: boolean;
  sslCaCert?: string;
  sslCaCertPath?: string;
  sslClientCert?: string;
  sslClientCertPath?: string;
  sslClientKey?: string;
  sslClientKeyPath?: string;

  // --- beyond the spec
  /** 'replace' (default, like curl --cacert): the config CA is the only trust; 'extend': added to the system store. */
  sslCaMode?: 'replace' | 'extend';
  /** Passphrase of an encrypted client key (or SSH private key). */
  sslClientKeyPassphrase?: string;
  /** Milliseconds to establish a connection (default 10 000). */
  connectTimeout?: number;
  /** Milliseconds from request sent to response headers (default 30 000). */
  headersTimeout?: number;
  /** Milliseconds the body may stay silent before the request fails (default 30 000). */
  bodyTimeout?: number;
  /** Milliseconds for a whole attempt; 0 = no limit (default 0). */
  requestTimeout?: number;
  /** Extra attempts after a transient failure (default 3). */
  retries?: number;
  /** First backoff in ms, doubled each retry with full jitter (default 500). */
  retryDelay?: number;
  /** Backoff cap in ms (default 30 000). */
  retryMaxDelay?: number;
  /** The longest Retry-After (ms) waited for; a server asking for more is retried after this long (default 60 000). */
  retryAfterMax?: number;
  /** Keep the `.nectar-part` file of a failed or canceled request so that a later run resumes. */
  keepPartial?: boolean;
  /** fsync the file and its folder before the rename (default false). */
  fsync?: boolean;
  /** Fail a body that grows past this many bytes. */
  maxFileSize?: number;
  /** Redirect hops before NECTAR_TOO_MANY_REDIRECTS (default 20). */
  maxRedirects?: number;
  /** Header names kept on a cross-origin redirect (default accept, user-agent). */
  redirectHeaders?: string[];
  /** Keep every header and credential across origins (curl --location-trusted). */
  trustRedirects?: boolean;
  /** Ask for compressed transfer and write the decoded bytes (default false: bytes as sent). */
  decompress?: boolean;
  /** Default User-Agent header (default `nectar/<version>`). */
  userAgent?: string;
  /** Minimum milliseconds between two progress events of one request (default 100). */
  progressInterval?: number;
  /**
   * The slowest transfer tolerated, in bytes per second averaged over `minSpeedTime` (curl's
   * --speed-limit): a server trickling bytes fails the attempt (NECTAR_TIMEOUT, retryable) instead
   * of holding a slot forever. Default 1 024; 0 switches it off. Under a `maxSpeed` it is capped at
   * a quarter of each transfer's fair share, so the downloader's own limit never trips it.
   */
  minSpeed?: number;
  /** The window over which `minSpeed` is measured, in milliseconds (curl's --speed-time; default 60 000). */
  minSpeedTime?: number;
  /** Query parameters masked in reports besides the built-in list (`secretQueryParams`): `['X-My-Token']`. */
  redactParams?: string[];
}

export const defaults = {
  maxConcurrent: 8,
  sslValidation: true,
  sslCaMode: 'replace',
  connectTimeout: 10_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
  requestTimeout: 0,
  retries: 3,
  retryDelay: 500,
  retryMaxDelay: 30_000,
  retryAfterMax: 60_000,
  keepPartial: false,
  fsync: false,
  maxRedirects: 20,
  redirectHeaders: ['accept', 'user-agent'],
  trustRedirects: false,
  decompress: false,
  progressInterval: 100,
  minSpeed: 1024,
  minSpeedTime: 60_000,
} as const;

/** What the DownloaderConfig constructor takes: the honoured fields, and any others. */
export type DownloaderConfigInput = DownloaderConfigOptions | (DownloaderConfigOptions & Record<string, unknown>);

type Check = (value: unknown, field: string) => void;

const positiveInteger: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) fail(f, 'a positive integer', v);
};
const nonNegativeInteger: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) fail(f, 'a non-negative integer', v);
};
/** Node's timers fire at once for a delay of 2^31 ms or more: such a value would mean "now". */
const MAX_MS = 2 ** 31 - 1;
const milliseconds: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > MAX_MS) fail(f, `a whole number of milliseconds from 0 to ${MAX_MS}`, v);
};
/** Below one byte per second a single chunk would wait for years: a mistake, not a limit. */
const bytesPerSecond: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1) fail(f, 'a number of bytes per second, at least 1', v);
};
const string: Check = (v, f) => {
  if (typeof v !== 'string') fail(f, 'a string', v);
};
const nonEmptyString: Check = (v, f) => {
  if (typeof v !== 'string' || v === '') fail(f, 'a non-empty string', v);
};
const boolean: Check = (v, f) => {
  if (typeof v !== 'boolean') fail(f, 'true or false', v);
};
const port: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) fail(f, 'a port number from 1 to 65535', v);
};
const stringList: Check = (v, f) => {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(f, 'an array of strings', v);
};
const oneOf =
  (...values: string[]): Check =>
  (v, f) => {
    if (typeof v !== 'string' || !values.includes(v)) fail(f, values.map((x) => `'${x}'`).join(' or '), v);
  };

const checks: Record<keyof DownloaderConfigOptions, Check> = {
  basicAuthUsername: nonEmptyString,
  basicAuthPassword: string,
  headers: (v, f) => void checkHeaders(v, f),
  maxConcurrent: positiveInteger,
  maxSpeed: bytesPerSecond,
  proxyUrl: (v, f) => {
    nonEmptyString(v, f);
    const url = URL.canParse(v as string) ? new URL(v as string) : null;
    if (url === null || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') {
      throw new NectarArgumentError(`config.${f} must be http://host or https://host, got ${JSON.stringify(redactText(v as string))}`, 'NECTAR_INVALID_CONFIG');
    }
  },
  proxyPort: port,
  proxyUsername: nonEmptyString,
  proxyPassword: string,
  sslValidation: boolean,
  sslCaCert: nonEmptyString,
  sslCaCertPath: nonEmptyString,
  sslClientCert: nonEmptyString,
  sslClientCertPath: nonEmptyString,
  sslClientKey: nonEmptyString,
  sslClientKeyPath: nonEmptyString,
  sslCaMode: oneOf('replace', 'extend'),
  sslClientKeyPassphrase: string,
  connectTimeout: milliseconds,
  headersTimeout: milliseconds,
  bodyTimeout: milliseconds,
  requestTimeout: milliseconds,
  retries: nonNegativeInteger,
  retryDelay: milliseconds,
  retryMaxDelay: milliseconds,
  retryAfterMax: milliseconds,
  keepPartial: boolean,
  fsync: boolean,
  maxFileSize: nonNegativeInteger,
  maxRedirects: nonNegativeInteger,
  redirectHeaders: stringList,
  trustRedirects: boolean,
  decompress: boolean,
  userAgent: string,
  progressInterval: milliseconds,
  minSpeed: (v, f) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(f, 'a number of bytes per second (0: no floor)', v);
  },
  minSpeedTime: (v, f) => {
    milliseconds(v, f);
    if ((v as number) < 1000) fail(f, 'at least 1000 milliseconds', v);
  },
  redactParams: stringList,
};

const exclusive: Array<[keyof DownloaderConfigOptions, keyof DownloaderConfigOptions]> = [
  ['sslCaCert', 'sslCaCertPath'],
  ['sslClientCert', 'sslClientCertPath'],
  ['sslClientKey', 'sslClientKeyPath'],
];

/** Fields that mean nothing without another one. */
const requires: Array<[keyof DownloaderConfigOptions, Array<keyof DownloaderConfigOptions>]> = [
  ['basicAuthPassword', ['basicAuthUsername']],
  ['proxyPort', ['proxyUrl']],
  ['proxyUsername', ['proxyUrl']],
  ['proxyPassword', ['proxyUsername']],
  // A PEM may hold both the certificate and its key, so a certificate alone is fine; a key alone is not.
  ['sslClientKey', ['sslClientCert', 'sslClientCertPath']],
  ['sslClientKeyPath', ['sslClientCert', 'sslClientCertPath']],
];

function fail(field: string, expected: string, value: unknown): never {
  throw new NectarArgumentError(`config.${field} must be ${expected}, got ${describe(value)}`, 'NECTAR_INVALID_CONFIG');
}

/**
 * Options common to every request of a downloader. Arbitrary keys are allowed and kept (the
 * spec says so); only the fields of DownloaderConfigOptions are honoured and validated, and a
 * config that cannot work fails here, naming the field.
 */
export class DownloaderConfig implements DownloaderConfigOptions {
  [key: string]: unknown;

  declare readonly basicAuthUsername?: string;
  declare readonly basicAuthPassword?: string;
  declare readonly headers?: Record<string, string>;
  declare readonly maxConcurrent?: number;
  declare readonly maxSpeed?: number;
  declare readonly proxyUrl?: string;
  declare readonly proxyPort?: number;
  declare readonly proxyUsername?: string;
  declare readonly proxyPassword?: string;
  declare readonly sslValidation?: boolean;
  declare readonly sslCaCert?: string;
  declare readonly sslCaCertPath?: string;
  declare readonly sslClientCert?: string;
  declare readonly sslClientCertPath?: string;
  declare readonly sslClientKey?: string;
  declare readonly sslClientKeyPath?: string;
  declare readonly sslCaMode?: 'replace' | 'extend';
  declare readonly sslClientKeyPassphrase?: string;
  declare readonly connectTimeout?: number;
  declare readonly headersTimeout?: number;
  declare readonly bodyTimeout?: number;
  declare readonly requestTimeout?: number;
  declare readonly retries?: number;
  declare readonly retryDelay?: number;
  declare readonly retryMaxDelay?: number;
  declare readonly retryAfterMax?: number;
  declare readonly keepPartial?: boolean;
  declare readonly fsync?: boolean;
  declare readonly maxFileSize?: number;
  declare readonly maxRedirects?: number;
  declare readonly redirectHeaders?: string[];
  declare readonly trustRedirects?: boolean;
  declare readonly decompress?: boolean;
  declare readonly userAgent?: string;
  declare readonly progressInterval?: number;
  declare readonly minSpeed?: number;
  declare readonly minSpeedTime?: number;
  declare readonly redactParams?: string[];

  constructor(options: DownloaderConfigInput = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new NectarArgumentError(`config must be an object, got ${describe(options)}`, 'NECTAR_INVALID_CONFIG');
    }
    for (const [field, value] of Object.entries(options)) {
      if (value === undefined) continue;
      // Own keys only: '__proto__' or 'toString' from a parsed JSON file are data, never code.
      if (Object.hasOwn(checks, field)) checks[field as keyof DownloaderConfigOptions](value, field);
      Object.defineProperty(this, field, { value: field === 'headers' ? { ...(value as Record<string, string>) } : value, enumerable: true });
    }
    for (const [a, b] of exclusive) {
      if (this[a] !== undefined && this[b] !== undefined) {
        throw new NectarArgumentError(`config.${a} and config.${b} are mutually exclusive: give the data or the path, not both`, 'NECTAR_INVALID_CONFIG');
      }
    }
    for (const [field, needs] of requires) {
      if (this[field] !== undefined && needs.every((n) => this[n] === undefined)) {
        throw new NectarArgumentError(`config.${field} needs config.${needs.join(' or config.')}`, 'NECTAR_INVALID_CONFIG');
      }
    }
    Object.freeze(this);
  }

  /** Reads any field, honoured or not, with a typed fallback. */
  get<T = unknown>(field: string, fallback?: T): T {
    return (this[field] ?? fallback) as T;
  }
}

type DefaultedField = keyof typeof defaults;

/** A config with the defaults filled in, as backends read it. */
export type ResolvedConfig = Readonly<Omit<DownloaderConfigOptions, DefaultedField> & Required<Pick<DownloaderConfigOptions, DefaultedField>>> &
  Readonly<Record<string, unknown>>;

export function withDefaults(config: DownloaderConfig): ResolvedConfig {
  const resolved: Record<string, unknown> = { ...defaults, redirectHeaders: [...defaults.redirectHeaders] };
  for (const [k, v] of Object.entries(config)) if (v !== undefined) Object.defineProperty(resolved, k, { value: v, enumerable: true });
  return Object.freeze(resolved) as ResolvedConfig;
}
