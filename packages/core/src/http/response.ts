/** Response headers as Node's HTTP clients parse them: lower-cased names, repeated ones as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * How much of an unwanted body (a redirect's, an error page) is worth reading so that its
 * keep-alive connection serves the next request; beyond it, dropping the connection is cheaper.
 */
export const unwantedBodyLimit = 64 * 1024;

/** A header that may repeat, as its first value. */
export function headerValue(headers: ResponseHeaders, name: string): string | undefined {
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
export function contentLength(headers: ResponseHeaders): number | null {
  const value = headerValue(headers, 'content-length');
  if (value === undefined || !/^\s*\d+\s*$/.test(value)) return null;
  const length = Number(value);
  return Number.isSafeInteger(length) ? length : null;
}

/** The whole file's size: Content-Length of a 200, the size in Content-Range of a 206. */
export function announcedSize(status: number, headers: ResponseHeaders): number | null {
  if (status === 206) return parseContentRange(headerValue(headers, 'content-range'))?.size ?? null;
  return contentLength(headers);
}

/**
 * What lets a later attempt resume safely with If-Range: a strong ETag, else Last-Modified.
 * A weak ETag never matches in If-Range (RFC 9110 §13.1.5), so it is worthless here.
 */
export function resumeValidator(headers: ResponseHeaders): string | null {
  const etag = headerValue(headers, 'etag');
  if (etag?.startsWith('"')) return etag;
  return headerValue(headers, 'last-modified') ?? null;
}
