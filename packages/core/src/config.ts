import { NectarArgumentError } from './errors.js';
import { redactText } from './redact.js';
import { checkHeaders, describe } from './request.js';
import { type StateStore, isStateStore } from './state/store.js';
import type { AfterHeadersHook } from './engine/after-headers.js';

/**
 * The fields a downloader honours, typed so that a misspelt one fails `tsc`. A backend that reads
 * fields of its own declares them by extending this interface (as `SftpConfigOptions` does);
 * anything else goes in `extra`. At run time unknown top-level keys are still kept (JSON files,
 * JavaScript callers), and one that looks like a misspelt field draws a warning.
 */
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
  /**
   * `http://host`, `https://host`, or a SOCKS5 proxy: `socks5://host` (target names resolved
   * here) or `socks5h://host` (resolved by the proxy); a port in the URL is allowed (`proxyPort`
   * wins; SOCKS defaults to 1080), and so are credentials (`proxyUsername`/`proxyPassword` win).
   */
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
  /**
   * Worker threads that run transfers, for a backend that can run in one (undici, file); 0 (the
   * default) runs them on the main thread, the fast choice in most cases (see core's README).
   */
  threads?: number;
  /**
   * Connections one large file may be fetched over in ranges (aria2c -x), for a backend that
   * serves ranges; 1 (the default) never splits a file.
   */
  segments?: number;
  /** The smallest segment worth its own connection, in bytes (aria2c's --min-split-size; default 32 MiB, at least 1 MiB). */
  minSegmentSize?: number;
  /** Transfers at once to one origin (scheme, host and port), under `maxConcurrent` (aiohttp's limit_per_host). */
  maxPerHost?: number;
  /** Requests per second to one origin, evenly spaced; retries and redirect hops take their token too. */
  hostRate?: number;
  /** Bytes per second from one origin, all its transfers together, under `maxSpeed`. */
  maxSpeedPerHost?: number;
  /**
   * Bytes that may be in flight at once, each transfer counted by its announced size from its
   * response headers on: a transfer that would pass the budget waits until others finish (one
   * alone always runs). Unknown sizes count as nothing.
   */
  maxBytesInFlight?: number;
  /** Offer HTTP/2 by ALPN on TLS connections (default false); the server decides. A backend that cannot fails with NECTAR_NOT_SUPPORTED. */
  http2?: boolean;

  // --- re-syncs (state/)
  /**
   * Where what is known of each destination is kept (URL, validators, size, mtime, digest): a
   * path for the embedded SQLite store, or a StateStore. With it a copy still on disk as recorded
   * is asked for conditionally (304: `unchanged`), a trusted digest skips the request, a known copy
   * of the same bytes is reused, and a killed run resumes its part files.
   */
  state?: string | StateStore;
  /**
   * How far a recorded copy is trusted to hold a request's expectedDigest: 'stat' (default: same
   * size and mtime as recorded, no request), 'digest' (read and hash it first), 'request' (always
   * ask the server conditionally).
   */
  verifyUnchanged?: 'stat' | 'digest' | 'request';
  /** Folders whose same-named file is linked (or copied) into place when it has the expectedDigest. */
  reuseFrom?: string[];
  /** Send If-Modified-Since with the mtime of the destination on disk, without a store (wget -N). */
  ifModifiedSince?: boolean;
  /**
   * Called when the head of an answer arrives, before any byte of its body is written: return
   * `{ destination }` to commit the file elsewhere (a name from Content-Disposition), `{ skip: true }`
   * to end the request 'canceled' with nothing written, or throw to fail it (NECTAR_REFUSED).
   */
  afterHeaders?: AfterHeadersHook;

  // --- the escape
  /**
   * Fields for a backend or a listener that core does not know: kept unchecked and readable with
   * `config.get(name)`; backends see them beside the honoured fields. A key here may not name a
   * honoured field, nor repeat a top-level key.
   */
  extra?: Readonly<Record<string, unknown>>;
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
  http2: false,
} as const;

/** What the DownloaderConfig constructor takes: the honoured fields, and `extra` for any others. */
export type DownloaderConfigInput = DownloaderConfigOptions;

/** The honoured fields, validated by `checks` below. */
type HonouredField = Exclude<keyof DownloaderConfigOptions, 'extra'>;

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
/** A request every 1 000 s is the slowest rate that still means a rate rather than a stop. */
const requestsPerSecond: Check = (v, f) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0.001) fail(f, 'a number of requests per second, at least 0.001', v);
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

const proxySchemes: ReadonlySet<string> = new Set(['http:', 'https:', 'socks5:', 'socks5h:']);

const checks: Record<HonouredField, Check> = {
  basicAuthUsername: nonEmptyString,
  basicAuthPassword: string,
  headers: (v, f) => void checkHeaders(v, f),
  maxConcurrent: positiveInteger,
  maxSpeed: bytesPerSecond,
  proxyUrl: (v, f) => {
    nonEmptyString(v, f);
    const url = URL.canParse(v as string) ? new URL(v as string) : null;
    if (url === null || !proxySchemes.has(url.protocol) || url.hostname === '') {
      throw new NectarArgumentError(`config.${f} must be http://host, https://host, socks5://host or socks5h://host, got ${JSON.stringify(redactText(v as string))}`, 'NECTAR_INVALID_CONFIG');
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
  threads: nonNegativeInteger,
  segments: positiveInteger,
  minSegmentSize: (v, f) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1024 * 1024) fail(f, 'a whole number of bytes, at least 1 MiB (1048576)', v);
  },
  maxPerHost: positiveInteger,
  hostRate: requestsPerSecond,
  maxSpeedPerHost: bytesPerSecond,
  maxBytesInFlight: positiveInteger,
  http2: boolean,
  state: (v, f) => {
    if (!isStateStore(v)) nonEmptyString(v, f);
  },
  verifyUnchanged: oneOf('stat', 'digest', 'request'),
  reuseFrom: stringList,
  ifModifiedSince: boolean,
  afterHeaders: (v, f) => {
    if (typeof v !== 'function') fail(f, 'a function', v);
  },
};

const exclusive: Array<[HonouredField, HonouredField]> = [
  ['sslCaCert', 'sslCaCertPath'],
  ['sslClientCert', 'sslClientCertPath'],
  ['sslClientKey', 'sslClientKeyPath'],
];

/** Fields that mean nothing without another one. */
const requires: Array<[HonouredField, HonouredField[]]> = [
  ['basicAuthPassword', ['basicAuthUsername']],
  ['proxyPort', ['proxyUrl']],
  ['proxyUsername', ['proxyUrl']],
  ['proxyPassword', ['proxyUsername']],
  // A PEM may hold both the certificate and its key, so a certificate alone is fine; a key alone is not.
  ['sslClientKey', ['sslClientCert', 'sslClientCertPath']],
  ['sslClientKeyPath', ['sslClientCert', 'sslClientCertPath']],
];

/** The limits `downloader.setLimits()` may change during a run. */
export type ChangeableLimit = 'maxPerHost' | 'hostRate' | 'maxSpeedPerHost';

/** Checks a new value of a changeable limit as the constructor checks the config's. */
export function checkLimit(field: ChangeableLimit, value: unknown): void {
  checks[field](value, field);
}

function fail(field: string, expected: string, value: unknown): never {
  throw new NectarArgumentError(`config.${field} must be ${expected}, got ${describe(value)}`, 'NECTAR_INVALID_CONFIG');
}

/**
 * Options common to every request of a downloader. Only the fields of DownloaderConfigOptions
 * are honoured and validated, and a config that cannot work fails here, naming the field. Other
 * keys are kept, as the spec asks: in `extra`, or at the top level from untyped callers (a JSON
 * file), where a near miss of a honoured field draws a NECTAR_CONFIG_NEAR_MISS warning.
 */
// The type parameter shapes only the constructor's argument: every DownloaderConfig is the same kind of object.
export class DownloaderConfig<Options extends DownloaderConfigOptions = DownloaderConfigOptions> implements DownloaderConfigOptions {
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
  declare readonly threads?: number;
  declare readonly segments?: number;
  declare readonly minSegmentSize?: number;
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
  declare readonly maxPerHost?: number;
  declare readonly hostRate?: number;
  declare readonly maxSpeedPerHost?: number;
  declare readonly maxBytesInFlight?: number;
  declare readonly http2?: boolean;
  declare readonly state?: string | StateStore;
  declare readonly verifyUnchanged?: 'stat' | 'digest' | 'request';
  declare readonly reuseFrom?: string[];
  declare readonly ifModifiedSince?: boolean;
  declare readonly afterHeaders?: AfterHeadersHook;
  declare readonly extra?: Readonly<Record<string, unknown>>;

  /**
   * `Options` names a backend's own fields for the type check, never inferred from the argument
   * (that would accept any typo): `new DownloaderConfig<SftpConfigOptions>({ sshPrivateKeyPath })`.
   */
  constructor(options: NoInfer<Options> = {} as Options) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new NectarArgumentError(`config must be an object, got ${describe(options)}`, 'NECTAR_INVALID_CONFIG');
    }
    for (const [field, value] of Object.entries(options)) {
      if (value === undefined) continue;
      Object.defineProperty(this, field, { value: checkedValue(field, value, options), enumerable: true });
    }
    checkCombinations(this);
    Object.freeze(this);
  }

  /** Reads any field, honoured, top-level or in `extra`, with a typed fallback. */
  get<T = unknown>(field: string, fallback?: T): T {
    const own = Object.hasOwn(this, field) ? (this as unknown as Record<string, unknown>)[field] : undefined;
    const extra = this.extra !== undefined && Object.hasOwn(this.extra, field) ? this.extra[field] : undefined;
    return (own ?? extra ?? fallback) as T;
  }
}

/** A field's value as the config keeps it, once checked: honoured fields validated, copies of what the caller could change. */
function checkedValue(field: string, value: unknown, options: object): unknown {
  // Own keys only: '__proto__' or 'toString' from a parsed JSON file are data, never code.
  if (Object.hasOwn(checks, field)) {
    checks[field as HonouredField](value, field);
    return field === 'headers' ? { ...(value as Record<string, string>) } : value;
  }
  if (field === 'extra') return checkedExtra(value, options);
  warnIfMisspelt(field);
  return value;
}

function checkedExtra(extra: unknown, options: object): Readonly<Record<string, unknown>> {
  if (typeof extra !== 'object' || extra === null || Array.isArray(extra)) fail('extra', 'an object of field names and values', extra);
  for (const key of Object.keys(extra)) {
    if (Object.hasOwn(checks, key) || key === 'extra') {
      throw new NectarArgumentError(`config.extra.${key} is a field Nectar honours: set config.${key} instead`, 'NECTAR_INVALID_CONFIG');
    }
    if (Object.hasOwn(options, key)) {
      throw new NectarArgumentError(`config.extra.${key} and config.${key} are both given: keep one`, 'NECTAR_INVALID_CONFIG');
    }
  }
  // Spread defines own data properties: a '__proto__' key stays a key.
  return Object.freeze({ ...extra });
}

function checkCombinations(config: DownloaderConfig): void {
  for (const [a, b] of exclusive) {
    if (config[a] !== undefined && config[b] !== undefined) {
      throw new NectarArgumentError(`config.${a} and config.${b} are mutually exclusive: give the data or the path, not both`, 'NECTAR_INVALID_CONFIG');
    }
  }
  for (const [field, needs] of requires) {
    if (config[field] !== undefined && needs.every((n) => config[n] === undefined)) {
      throw new NectarArgumentError(`config.${field} needs config.${needs.join(' or config.')}`, 'NECTAR_INVALID_CONFIG');
    }
  }
}

/** The warning code for a top-level key one or two edits away from a honoured field. */
export const NEAR_MISS_WARNING = 'NECTAR_CONFIG_NEAR_MISS';

/** Names already warned about: one warning per name and process, however many configs repeat it. */
const warned = new Set<string>();

/**
 * An unknown key is allowed (a backend's field, a JSON file's comment), but `maxConcurent` is
 * almost surely a typo whose value nobody reads: say so, once, without failing.
 */
function warnIfMisspelt(field: string): void {
  if (warned.has(field)) return;
  const meant = nearestField(field);
  if (meant === undefined) return;
  warned.add(field);
  process.emitWarning(`config.${field} is not a field of @nectar/core: did you mean config.${meant}?`, {
    code: NEAR_MISS_WARNING,
    detail: `If ${field} is a backend's own field, pass it in config.extra, which is never checked.`,
  });
}

/** The honoured field 1 or 2 edits from `field` (the closest, the first in declaration order on a tie). */
function nearestField(field: string): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of [...Object.keys(checks), 'extra']) {
    const distance = editDistance(field, name, 2);
    if (distance >= 1 && distance <= 2 && (best === undefined || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/**
 * Optimal string alignment distance: insertions, deletions, substitutions and swaps of two
 * neighbours (`retires` is one edit from `retries`), case-sensitive. Anything beyond `limit`
 * is reported as limit + 1 without being computed.
 */
function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, (before[j - 2] ?? 0) + 1);
      current.push(d);
    }
    before = previous;
    previous = current;
  }
  return previous[b.length] ?? limit + 1;
}

type DefaultedField = keyof typeof defaults;

/** A config with the defaults filled in, as backends read it: `extra`'s fields beside the honoured ones. */
export type ResolvedConfig = Readonly<Omit<DownloaderConfigOptions, DefaultedField> & Required<Pick<DownloaderConfigOptions, DefaultedField>>> &
  Readonly<Record<string, unknown>>;

export function withDefaults(config: DownloaderConfig): ResolvedConfig {
  const resolved: Record<string, unknown> = { ...defaults, redirectHeaders: [...defaults.redirectHeaders] };
  const define = (k: string, v: unknown) => v !== undefined && Object.defineProperty(resolved, k, { value: v, enumerable: true });
  for (const [k, v] of Object.entries(config)) define(k, v);
  // Never a honoured field nor a top-level key (checked at construction): nothing is overwritten.
  for (const [k, v] of Object.entries(config.extra ?? {})) define(k, v);
  return Object.freeze(resolved) as ResolvedConfig;
}
