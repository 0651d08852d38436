import { NectarError } from '../errors.js';
import type { TransferJob } from '../engine/job.js';
import { redactUrl } from '../redact.js';
import { type ResponseHeaders, headerValue, parseContentRange } from './response.js';

/** The parts of a job that decide how it resumes. */
export type ResumeJob = Pick<TransferJob, 'config' | 'offset' | 'validator'>;

/**
 * The byte an HTTP attempt asks to start from. Decoded bytes on disk cannot be matched to a byte
 * range of the encoded body, so a download that decompresses always starts over.
 */
export function resumeOffset(job: ResumeJob): number {
  return job.config.decompress ? 0 : job.offset;
}

/** `Range` (and `If-Range` with the earlier validator) for a resumed attempt; none otherwise. */
export function rangeHeaders(job: ResumeJob): Record<string, string> {
  const offset = resumeOffset(job);
  if (offset === 0) return {};
  return job.validator === null ? { range: `bytes=${offset}-` } : { range: `bytes=${offset}-`, 'if-range': job.validator };
}

/**
 * A 416 to `bytes=<offset>-` whose `Content-Range: bytes *\/<size>` equals the offset means the
 * earlier attempt already got every byte: nothing is left to fetch.
 */
export function completedBefore(job: ResumeJob, headers: ResponseHeaders): boolean {
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
