import { getHashes } from 'node:crypto';
import { isAbsolute, resolve, sep } from 'node:path';
import { NectarArgumentError } from './errors.js';
import { redactText } from './redact.js';

/** Where the bytes go: a filesystem path, or a writable the caller owns (never closed by Nectar). */
export type Destination = string | NodeJS.WritableStream;

export interface ExpectedDigest {
  /** Any algorithm `crypto.createHash` knows: 'sha256', 'sha512', 'md5' … */
  algorithm: string;
  /** Lower-case hex. */
  value: string;
}

export interface DownloadRequestOptions<D = unknown> {
  /** Passed untouched to the request's report. */
  data?: D;
  /** Headers for this request only; they win over the config's headers. */
  headers?: Record<string, string>;
  /** Cancels this request alone. */
  signal?: AbortSignal;
  /** Fallback URLs tried in order when the main one fails for good. */
  mirrors?: Array<string | URL>;
  /** The size the file must have; a different size fails the request. */
  expectedSize?: number;
  /** The digest the file must have; computed while streaming. */
  expectedDigest?: ExpectedDigest;
  /** Bytes per second for this request alone, under the downloader's and its origin's limits. */
  maxSpeed?: number;
}

/** The JSON form of a request with a path destination. */
export interface DownloadRequestJSON<D = unknown> {
  url: string;
  destination: string;
  data?: D;
  headers?: Record<string, string>;
  mirrors?: string[];
  expectedSize?: number;
  expectedDigest?: ExpectedDigest;
  maxSpeed?: number;
}

export class DownloadRequest<D = unknown> {
  readonly url: string;
  readonly destination: Destination;
  readonly data: D;
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: AbortSignal | undefined;
  readonly mirrors: readonly string[];
  readonly expectedSize: number | undefined;
  readonly expectedDigest: ExpectedDigest | undefined;
  readonly maxSpeed: number | undefined;

  constructor(url: string | URL, destination: Destination, options: DownloadRequestOptions<D> = {}) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) {
      throw new NectarArgumentError(`options must be an object ({ data, headers, signal, mirrors, expectedSize, expectedDigest, maxSpeed }), got ${describe(options)}`);
    }
    this.url = parseUrl(url, 'url');
    this.destination = normaliseDestination(destination);
    this.data = options.data as D;
    this.headers = Object.freeze(checkHeaders(options.headers, 'headers'));
    this.signal = checkSignal(options.signal);
    this.mirrors = Object.freeze(checkMirrors(options.mirrors));
    this.expectedSize = checkSize(options.expectedSize);
    this.expectedDigest = checkDigest(options.expectedDigest);
    this.maxSpeed = checkSpeed(options.maxSpeed);
  }

  /** Rebuilds a request from its JSON form (or accepts a request as is). */
  static from<D = unknown>(value: DownloadRequest<D> | DownloadRequestJSON<D>): DownloadRequest<D> {
    if (value instanceof DownloadRequest) return value;
    if (typeof value !== 'object' || value === null) {
      throw new NectarArgumentError(`A request must be a DownloadRequest or an object with url and destination, got ${describe(value)}`);
    }
    const { url, destination, ...options } = value;
    return new DownloadRequest(url, destination, options);
  }

  /** The URL scheme without its colon: 'https', 'file', 'sftp'. */
  get scheme(): string {
    return this.url.slice(0, this.url.indexOf(':')).toLowerCase();
  }

  toJSON(): DownloadRequestJSON<D> | (Omit<DownloadRequestJSON<D>, 'destination'> & { destination: '[stream]' }) {
    const json = {
      url: this.url,
      destination: typeof this.destination === 'string' ? this.destination : ('[stream]' as const),
      data: this.data,
      headers: Object.keys(this.headers).length > 0 ? { ...this.headers } : undefined,
      mirrors: this.mirrors.length > 0 ? [...this.mirrors] : undefined,
      expectedSize: this.expectedSize,
      expectedDigest: this.expectedDigest,
      maxSpeed: this.maxSpeed,
    };
    return JSON.parse(JSON.stringify(json));
  }
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value === '' ? 'an empty string' : JSON.stringify(value);
  if (typeof value === 'number') return String(value);
  return `a value of type ${typeof value}`;
}

function parseUrl(value: unknown, field: string): string {
  if (value instanceof URL) return value.href;
  if (typeof value !== 'string' || value.trim() === '') {
    throw new NectarArgumentError(`${field} must be an absolute URL string, got ${describe(value)}`);
  }
  if (!URL.canParse(value)) {
    throw new NectarArgumentError(`${field} must be an absolute URL with a scheme (https://…, file://…), got ${JSON.stringify(redactText(value))}`);
  }
  return new URL(value).href;
}

export function isWritableStream(value: unknown): value is NodeJS.WritableStream {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as NodeJS.WritableStream).write === 'function' &&
    typeof (value as NodeJS.WritableStream).on === 'function'
  );
}

function normaliseDestination(value: unknown): Destination {
  if (isWritableStream(value)) return value;
  if (typeof value !== 'string' || value === '') {
    throw new NectarArgumentError(`destination must be a file path or a writable stream, got ${describe(value)}`);
  }
  if (value.includes('\0')) throw new NectarArgumentError('destination must not contain a NUL byte');
  if (isNormalAbsolute(value)) return value;
  // Relative paths resolve now, against the working directory of the code that built the request.
  return isAbsolute(value) ? resolve(value) : resolve(process.cwd(), value);
}

/** An empty, '.' or '..' segment: what resolve() rewrites inside a POSIX path. */
const ODD_SEGMENT = /\/\/|\/\.\.?(?:\/|$)/;

/** An absolute POSIX path that resolve() returns as it is: the common case, without resolve()'s scan. */
function isNormalAbsolute(path: string): boolean {
  // A trailing slash is checked apart: a regex '.' would not match a newline before it.
  return sep === '/' && path.startsWith('/') && !(path.length > 1 && path.endsWith('/')) && !ODD_SEGMENT.test(path);
}

export function checkHeaders(value: unknown, field: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new NectarArgumentError(`${field} must be an object of header names to string values, got ${describe(value)}`);
  }
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new NectarArgumentError(`${field}: ${JSON.stringify(name)} is not a valid header name`);
    }
    if (typeof v !== 'string') {
      throw new NectarArgumentError(`${field}.${name} must be a string, got ${describe(v)}`);
    }
    // HTTP field values are visible ASCII, spaces and tabs, and (obsolete but allowed) Latin-1
    // (RFC 9110 §5.5); anything else would be rejected late by one transport and rewritten by
    // another. The value itself is not quoted: it may be a credential.
    if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) {
      throw new NectarArgumentError(`${field}.${name} holds a control character or a character outside Latin-1; encode the value first`);
    }
    Object.defineProperty(headers, name, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return headers;
}

function checkMirrors(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new NectarArgumentError(`mirrors must be an array of URLs, got ${describe(value)}`);
  return value.map((m, i) => parseUrl(m, `mirrors[${i}]`));
}

function checkSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw new NectarArgumentError(`signal must be an AbortSignal, got ${describe(value)}`);
}

function checkSize(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new NectarArgumentError(`expectedSize must be a non-negative integer, got ${describe(value)}`);
  }
  return value;
}

function checkDigest(value: unknown): ExpectedDigest | undefined {
  if (value === undefined) return undefined;
  const digest = value as Partial<ExpectedDigest>;
  if (typeof digest !== 'object' || digest === null || typeof digest.algorithm !== 'string' || typeof digest.value !== 'string') {
    throw new NectarArgumentError(`expectedDigest must be { algorithm, value }, got ${describe(value)}`);
  }
  if (!getHashes().includes(digest.algorithm.toLowerCase())) {
    throw new NectarArgumentError(`expectedDigest.algorithm ${JSON.stringify(digest.algorithm)} is not a hash this Node.js knows`);
  }
  if (!/^[0-9a-fA-F]+$/.test(digest.value)) {
    throw new NectarArgumentError(`expectedDigest.value must be a hex string, got ${JSON.stringify(digest.value)}`);
  }
  return Object.freeze({ algorithm: digest.algorithm.toLowerCase(), value: digest.value.toLowerCase() });
}

function checkSpeed(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 1) {
    throw new NectarArgumentError(`maxSpeed must be a number of bytes per second, at least 1, got ${describe(value)}`);
  }
  return value;
}
