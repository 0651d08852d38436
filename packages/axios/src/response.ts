import type { AxiosResponse } from 'axios';

/** Response headers with lower-cased names, repeated ones (set-cookie) as arrays. */
export type ResponseHeaders = Readonly<Record<string, string | string[] | undefined>>;

/**
 * axios hands headers over as an AxiosHeaders object whose values may be numbers or booleans
 * after an interceptor touched them; core and httpStatusError take plain strings.
 */
export function plainHeaders(response: Pick<AxiosResponse, 'headers'>): ResponseHeaders {
  const plain: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value === undefined || value === null || typeof value === 'object' && !Array.isArray(value)) continue;
    plain[name.toLowerCase()] = Array.isArray(value) ? value.map(String) : String(value);
  }
  return plain;
}

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

/**
 * What lets a later attempt resume safely with If-Range: a strong ETag, else Last-Modified.
 * A weak ETag never matches in If-Range (RFC 9110 §13.1.5), so it is worthless here.
 */
export function resumeValidator(headers: ResponseHeaders): string | null {
  const etag = headerValue(headers, 'etag');
  if (etag !== undefined && etag.startsWith('"')) return etag;
  return headerValue(headers, 'last-modified') ?? null;
}

/** The whole file's size: Content-Length of a 200, the size in Content-Range of a 206. */
export function announcedSize(status: number, headers: ResponseHeaders): number | null {
  if (status === 206) return parseContentRange(headerValue(headers, 'content-range'))?.size ?? null;
  return contentLength(headers);
}

/** Whether a Content-Encoding value names a coding other than identity. */
export function isEncoded(contentEncoding: string | string[] | undefined): boolean {
  const joined = Array.isArray(contentEncoding) ? contentEncoding.join(',') : (contentEncoding ?? '');
  return joined.split(',').some((coding) => !['', 'identity'].includes(coding.trim().toLowerCase()));
}
