import { type ResponseHeaders, headerValue } from './response.js';

/** What a server said identifies the version of a file it sent: kept to ask later "has it changed?". */
export interface Validators {
  readonly etag: string | null;
  readonly lastModified: string | null;
}

/** The validators of a response (either may be absent). */
export function responseValidators(headers: ResponseHeaders): Validators {
  return { etag: headerValue(headers, 'etag') ?? null, lastModified: headerValue(headers, 'last-modified') ?? null };
}

/**
 * If-None-Match and If-Modified-Since for a conditional GET (RFC 9110 §13.1). A server that
 * understands If-None-Match ignores If-Modified-Since, so sending both costs nothing and serves
 * servers that only know dates. Weak ETags are fine here: If-None-Match compares weakly.
 */
export function conditionalHeaders(validators: Validators | null): Record<string, string> {
  const headers: Record<string, string> = {};
  if (validators?.etag) headers['if-none-match'] = validators.etag;
  if (validators?.lastModified) headers['if-modified-since'] = validators.lastModified;
  return headers;
}

/** Whether request headers make a GET conditional: only then is a 304 an answer, not a fault. */
export function isConditional(headers: Readonly<Record<string, string>>): boolean {
  return headers['if-none-match'] !== undefined || headers['if-modified-since'] !== undefined;
}

/** A file's mtime as an HTTP date, for If-Modified-Since without a store (wget -N). */
export function httpDate(mtimeMs: number): string {
  return new Date(mtimeMs).toUTCString();
}
