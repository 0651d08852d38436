import { NectarError } from '../errors.js';
import type { TransferJob } from '../engine/job.js';
import { redactUrl } from '../redact.js';
import { type ResponseHeaders, headerValue, parseContentRange } from './response.js';

/** The parts of a job that decide how it resumes. */
export type ResumeJob = Pick<TransferJob, 'config' | 'offset' | 'validator' | 'range'>;

/**
 * The byte an HTTP attempt asks to start from: a segment's first byte, or the resume offset.
 * Decoded bytes on disk cannot be matched to a byte range of the encoded body, so a download
 * that decompresses always starts over (core never splits one).
 */
export function resumeOffset(job: ResumeJob): number {
  if (job.range !== null) return job.range.start;
  return job.config.decompress ? 0 : job.offset;
}

/**
 * `Range` (and `If-Range` with the earlier validator) for a resumed attempt or a segment; none
 * otherwise. A segment always names its version: a server whose file changed sends it whole,
 * and core refuses that answer before any byte is written.
 */
export function rangeHeaders(job: ResumeJob): Record<string, string> {
  if (job.range !== null) return { range: `bytes=${job.range.start}-${job.range.end - 1}`, 'if-range': job.validator ?? '' };
  const offset = resumeOffset(job);
  if (offset === 0) return {};
  return job.validator === null ? { range: `bytes=${offset}-` } : { range: `bytes=${offset}-`, 'if-range': job.validator };
}

/**
 * A 416 to `bytes=<offset>-` whose `Content-Range: bytes *\/<size>` equals the offset means the
 * earlier attempt already got every byte: nothing is left to fetch.
 */
export function completedBefore(job: ResumeJob, headers: ResponseHeaders): boolean {
  if (job.range !== null) return false;
  const offset = resumeOffset(job);
  return offset > 0 && parseContentRange(headerValue(headers, 'content-range'))?.size === offset;
}

/** A 206 must continue exactly where the part file ends; any other range would corrupt it. */
export function checkResumedRange(job: ResumeJob, headers: ResponseHeaders, url: URL): true {
  const value = headerValue(headers, 'content-range');
  const offset = resumeOffset(job);
  if (parseContentRange(value)?.start === offset) return true;
  throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} answered a resume from byte ${offset} with Content-Range ${value ?? '(none)'}`, {
    details: { url: redactUrl(url), offset, contentRange: value },
  });
}
