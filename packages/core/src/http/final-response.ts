import { STATUS_CODES } from 'node:http';
import { NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { TransferJob, TransferResponse } from '../engine/job.js';
import { contentCodings } from './content-coding.js';
import { isConditional } from './conditional.js';
import { type ResponseHeaders, announcedSize, headerValue, resumeValidator } from './response.js';
import { type ResumeJob, checkResumedRange, completedBefore, resumeOffset } from './resume.js';
import { httpStatusError, proxyError } from './status.js';

/** The final response of an HTTP transfer (redirects followed), as a backend received it. */
export interface FinalResponse {
  readonly status: number;
  /** The reason phrase as sent; when empty (HTTP/2, a terse server) the standard one is used. */
  readonly statusText?: string;
  readonly headers: ResponseHeaders;
  /** The URL that answered. */
  readonly url: URL;
  /**
   * Content-Encoding as the server sent it, for a transport that deletes it from `headers` while
   * decoding (axios). Default: the one in `headers`.
   */
  readonly contentEncoding?: string | string[] | undefined;
  /** The proxy answered CONNECT with something else than 200, replayed as this response. */
  readonly tunnelRefused?: boolean;
}

/**
 * What to do with a final response:
 * - `body`: tell core `response`, then pipe the body into the sink;
 * - `complete`: nothing to fetch — a resume found the part file complete, or a conditional request
 *   was answered 304 (`response.unchanged`); drain the body, tell core `response`, done;
 * - `refused`: not a success; drain the body and throw `error`.
 */
export type ResponseOutcome =
  | { readonly kind: 'body'; readonly response: TransferResponse }
  | { readonly kind: 'complete'; readonly response: TransferResponse }
  | { readonly kind: 'refused'; readonly error: NectarError };

/** The job as far as the answer to it depends on it. */
export type AnsweredJob = ResumeJob & Pick<TransferJob, 'proxy'> & Partial<Pick<TransferJob, 'headers'>>;

/**
 * The one reading of a final response every HTTP backend shares: statuses, the resume checks
 * (416 after a complete download, a 206 that must start at the offset) and the size to report.
 * Throws NECTAR_RESUME for a 206 that does not continue the part file.
 */
export function interpretResponse(job: AnsweredJob, answer: FinalResponse): ResponseOutcome {
  const { status, headers, url } = answer;
  if (status === 416 && completedBefore(job, headers)) {
    // The 416's own validator where it sends one: another version's is no word on our part file.
    const response = { status, headers, finalUrl: url.href, totalBytes: resumeOffset(job), resumed: true, validator: resumeValidator(headers) ?? job.validator };
    return { kind: 'complete', response };
  }
  // A 304 to a request that was not conditional is a server fault, refused below like any 3xx.
  if (status === 304 && isConditional(job.headers ?? {})) {
    return { kind: 'complete', response: { status, headers, finalUrl: url.href, totalBytes: null, unchanged: true } };
  }
  if (status < 200 || status >= 300) return { kind: 'refused', error: statusError(job, answer) };
  if (status === 206 && resumeOffset(job) === 0) return { kind: 'refused', error: unaskedPartial(url, headers) };
  const decoded = job.config.decompress && contentCodings(answer.contentEncoding ?? headers['content-encoding']).length > 0;
  const response: TransferResponse = {
    status,
    headers,
    finalUrl: url.href,
    // Decoded bytes have no announced length.
    totalBytes: decoded ? null : announcedSize(status, headers),
    resumed: status === 206 && checkResumedRange(job, headers, url),
    validator: resumeValidator(headers),
    ranges: servesRanges(headers),
  };
  return { kind: 'body', response };
}

/** `Accept-Ranges: bytes` with a validator that names this version for If-Range. */
function servesRanges(headers: ResponseHeaders): boolean {
  return /\bbytes\b/i.test(headerValue(headers, 'accept-ranges') ?? '') && resumeValidator(headers) !== null;
}

/**
 * A 206 to a request core did not resume: the caller's own Range header, or a server that
 * answers ranges unasked. Either way the body is not the whole file the destination must hold.
 */
function unaskedPartial(url: URL, headers: ResponseHeaders): NectarError {
  const contentRange = headerValue(headers, 'content-range');
  return new NectarError('NECTAR_RESUME', `${redactUrl(url)} answered 206 Partial Content (${contentRange ?? 'no Content-Range'}) to a request for the whole file; a Range header of your own is not supported`, {
    details: { status: 206, contentRange },
  });
}

/** 407 is a proxy's answer by definition (RFC 9110 §15.5.8), whether or not the config names one. */
function statusError(job: AnsweredJob, { status, statusText, headers, url, tunnelRefused }: FinalResponse): NectarError {
  const text = statusText || (STATUS_CODES[status] ?? '');
  if (status === 407 || tunnelRefused === true) return proxyError(status, text, { url, proxy: job.proxy?.url ?? null });
  return httpStatusError(status, text, url, headers);
}
