/** Response headers as undici parses them: lower-cased names, repeated ones as arrays. */
export type IncomingHttpHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** A header that may repeat, as its first value. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** A parsed `Content-Range: bytes <start>-<end>/<size>`, or its unsatisfied form (RFC 9110 §14.4). */
export interface ContentRange {
  /** null for the unsatisfied form, which names only the size. */
  readonly start: number | null;
  /** The whole representation's size; null for `/*`. */
  readonly size: number | null;
}

export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const match = /^\s*bytes\s+(?:(\d+)-\d+|\*)\/(\d+|\*)\s*$/i.exec(value ?? '');
  if (match === null) return undefined;
  const [, start, size] = match;
  return {
    start: start === undefined ? null : Number(start),
    size: size === undefined || size === '*' ? null : Number(size),
  };
}

/** Content-Length as a byte count, or null when absent (chunked) or malformed. */
export function contentLength(headers: IncomingHttpHeaders): number | null {
  const value = headerValue(headers, 'content-length');
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null;
  const length = Number(value);
  return Number.isSafeInteger(length) ? length : null;
}

/**
 * What lets a later attempt resume safely with If-Range: a strong ETag, else Last-Modified.
 * A weak ETag never matches in If-Range (RFC 9110 §13.1.5), so it is worthless here.
 */
export function resumeValidator(headers: IncomingHttpHeaders): string | null {
  const etag = headerValue(headers, 'etag');
  if (etag?.startsWith('"')) return etag;
  return headerValue(headers, 'last-modified') ?? null;
}

/** The content codings applied to the body, outermost last, without `identity`. */
export function contentCodings(headers: IncomingHttpHeaders): string[] {
  const value = headers['content-encoding'];
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
}
