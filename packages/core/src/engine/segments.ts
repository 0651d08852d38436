import { setMaxListeners } from 'node:events';
import { NectarArgumentError, NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { ByteRange, TransferJob, TransferResponse } from './job.js';

/**
 * The default of `config.minSegmentSize`: below this many bytes per segment, another connection
 * costs more than it brings (aria2c's --min-split-size defaults to 20 MiB).
 */
export const minSegmentBytes = 32 * 1024 * 1024;

/** `config.segments`: connections one large file may be fetched over; 1 = never split. */
export function segmentCount(segments: unknown): number {
  if (segments === undefined) return 1;
  if (typeof segments !== 'number' || !Number.isSafeInteger(segments) || segments < 1) {
    throw new NectarArgumentError(`config.segments must be a positive integer (1 never splits a file), got ${JSON.stringify(segments) ?? String(segments)}`, 'NECTAR_INVALID_CONFIG');
  }
  return segments;
}

/** The first job of a file that may be split, and where its first segment ends once it is. */
interface Split {
  limit: number | null;
}

const splits = new WeakMap<TransferJob, Split>();

/**
 * Whether core must look at this job's response before its body is written (an executor then
 * waits for its word): a file it may split, or a segment it must check.
 */
export function splittable(job: TransferJob): boolean {
  return job.range !== null || splits.has(job);
}

/** How many bytes a job's body may take: a segment's length, the first segment's end; null: no limit. */
export function segmentLimit(job: TransferJob): number | null {
  if (job.range !== null) return job.range.end - job.range.start;
  return splits.get(job)?.limit ?? null;
}

/**
 * The ranges a file is fetched in, or null to fetch it whole: a whole answer of known size from
 * a source that serves ranges of this version (a validator for If-Range), large enough that every
 * segment is worth a connection.
 */
export function planRanges(response: TransferResponse, segments: number, minSize = minSegmentBytes): ByteRange[] | null {
  const size = response.totalBytes;
  if (response.ranges !== true || size === null || !response.validator || response.finalUrl === undefined) return null;
  if (response.status !== undefined && response.status !== 200) return null;
  const count = Math.min(segments, Math.floor(size / minSize));
  if (count < 2) return null;
  const step = Math.ceil(size / count);
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, end: Math.min(size, start + step) });
  return ranges;
}

/** What a split attempt needs from the engine's attempt. */
export interface SegmentParts {
  readonly segments: number;
  /** config.minSegmentSize. */
  readonly minSize: number;
  /** The engine's own reading of the whole file's response. */
  responded: TransferJob['responded'];
  /** The job of the whole file, built with `signal` and `responded`. */
  job(signal: AbortSignal, responded: TransferJob['responded']): TransferJob;
  /** Caps the first job's body at `limit` bytes; `onFull` once they are written. */
  limitFirst(limit: number, onFull: () => void): void;
  /**
   * The job of one later segment, writing its bytes at their place in the part file: no more
   * than the range holds (`onFull` once they are written), from the same version (`validator`)
   * of a file of the same size (`total`).
   */
  rangeJob(segment: Segment, signal: AbortSignal, onFull: () => void): TransferJob;
}

/** One later segment of a split file: its range, where to ask for it, and of which version. */
export interface Segment {
  readonly range: ByteRange;
  readonly url: URL;
  readonly validator: string;
  readonly total: number;
}

/**
 * One attempt at a file that may be fetched in segments, as aria2c -x does: the first request
 * asks for the whole file; when the answer shows a large file served in ranges, that request
 * keeps the first segment and the others start at once (in this thread, or in a worker through
 * core's executor), each writing its range in place. The attempt ends when every segment has;
 * the first failure stops the others and is the attempt's.
 */
export async function transferInSegments(run: (job: TransferJob) => Promise<void>, attemptSignal: AbortSignal, attemptUrl: URL, parts: SegmentParts): Promise<void> {
  const group = new AbortController();
  const first = new AbortController();
  const signal = linked(attemptSignal, group);
  const firstSignal = linked(signal, first);
  const segments: Promise<void>[] = [];
  let failure: unknown;
  let firstComplete = false;
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    group.abort(error);
  };
  const split: Split = { limit: null };
  const job: TransferJob = parts.job(firstSignal, async (response) => {
    await parts.responded(response);
    const ranges = planRanges(response, parts.segments, parts.minSize);
    if (ranges === null || !sameOrigin(attemptUrl, response.finalUrl as string)) return;
    const [head, ...rest] = ranges as [ByteRange, ...ByteRange[]];
    split.limit = head.end;
    parts.limitFirst(head.end, () => {
      firstComplete = true;
      first.abort(new Error('the first segment is complete'));
    });
    const url = new URL(response.finalUrl as string);
    const total = response.totalBytes as number;
    for (const range of rest) segments.push(runSegment({ range, url, validator: response.validator as string, total }));
  });
  /** A segment's own stop: its range is written, the rest of its body is not wanted. */
  const runSegment = (segment: Segment): Promise<void> => {
    const own = new AbortController();
    let complete = false;
    const job = parts.rangeJob(segment, linked(signal, own), () => {
      complete = true;
      own.abort(new Error('the segment is complete'));
    });
    return run(job).catch((error: unknown) => {
      if (!complete) fail(error);
    });
  };
  splits.set(job, split);
  await run(job).catch((error: unknown) => {
    if (!firstComplete) fail(error);
  });
  await Promise.all(segments);
  group.abort();
  // core tells its own cancel apart by its own signal; the reason it sees is its own too.
  if (attemptSignal.aborted) throw attemptSignal.reason;
  if (failure !== undefined) throw failure;
}

/**
 * Segments go to the URL that answered, with the request's headers and credentials: only where
 * that is the origin they were meant for. After a redirect to another origin the redirect rule
 * has dropped them for that origin, and a split would send them again: such a file comes whole.
 */
function sameOrigin(attemptUrl: URL, finalUrl: string): boolean {
  return new URL(finalUrl).origin === attemptUrl.origin;
}

/** A signal aborted by `parent` or by `controller`, without AbortSignal.any's weak references per call. */
function linked(parent: AbortSignal, controller: AbortController): AbortSignal {
  const signal = controller.signal;
  setMaxListeners(0, signal);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true, signal });
  return signal;
}

/** A segment's answer must be that range of that version; anything else would splice the file. */
export function checkSegment(response: TransferResponse, { range, validator, total }: Segment, url: URL): void {
  if (response.resumed === true && response.validator === validator && response.totalBytes === total) return;
  // Retryable: the next attempt starts over and fetches the version the source has now.
  throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} did not serve bytes ${range.start}-${range.end - 1} of the version it announced (validator ${validator})`, {
    retryable: true,
    details: { url: redactUrl(url), range: `${range.start}-${range.end - 1}`, validator, answered: response.validator ?? null, status: response.status ?? null, total, totalBytes: response.totalBytes },
  });
}
