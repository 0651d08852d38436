import { setMaxListeners } from 'node:events';
import { NectarArgumentError, NectarError } from '../errors.js';
import { redactUrl } from '../redact.js';
import type { ByteRange, TransferJob, TransferResponse } from './job.js';

/** Below this many bytes per segment, another connection costs more than it brings. */
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

/** Whether core may split this job's file after its response (an executor then waits for its word). */
export function splittable(job: TransferJob): boolean {
  return splits.has(job);
}

/** Where the body of a split file's first job must stop (its first segment's end); null: never. */
export function segmentLimit(job: TransferJob): number | null {
  return splits.get(job)?.limit ?? null;
}

/**
 * The ranges a file is fetched in, or null to fetch it whole: a whole answer of known size from
 * a source that serves ranges of this version (a validator for If-Range), large enough that every
 * segment is worth a connection.
 */
export function planRanges(response: TransferResponse, segments: number): ByteRange[] | null {
  const size = response.totalBytes;
  if (response.ranges !== true || size === null || !response.validator || response.finalUrl === undefined) return null;
  if (response.status !== undefined && response.status !== 200) return null;
  const count = Math.min(segments, Math.floor(size / minSegmentBytes));
  if (count < 2) return null;
  const step = Math.ceil(size / count);
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, end: Math.min(size, start + step) });
  return ranges;
}

/** What a split attempt needs from the engine's attempt. */
export interface SegmentParts {
  readonly segments: number;
  /** The engine's own reading of the whole file's response. */
  responded: TransferJob['responded'];
  /** The job of the whole file, built with `signal` and `responded`. */
  job(signal: AbortSignal, responded: TransferJob['responded']): TransferJob;
  /** Caps the first job's body at `limit` bytes; `onFull` once they are written. */
  limitFirst(limit: number, onFull: () => void): void;
  /** The job of one later segment, writing its bytes at their place in the part file. */
  rangeJob(range: ByteRange, url: URL, validator: string, signal: AbortSignal): TransferJob;
}

/**
 * One attempt at a file that may be fetched in segments, as aria2c -x does: the first request
 * asks for the whole file; when the answer shows a large file served in ranges, that request
 * keeps the first segment and the others start at once (in this thread, or in a worker through
 * core's executor), each writing its range in place. The attempt ends when every segment has;
 * the first failure stops the others and is the attempt's.
 */
export async function transferInSegments(run: (job: TransferJob) => Promise<void>, attemptSignal: AbortSignal, parts: SegmentParts): Promise<void> {
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
    const ranges = planRanges(response, parts.segments);
    if (ranges === null) return;
    const [head, ...rest] = ranges as [ByteRange, ...ByteRange[]];
    split.limit = head.end;
    parts.limitFirst(head.end, () => {
      firstComplete = true;
      first.abort(new Error('the first segment is complete'));
    });
    const url = new URL(response.finalUrl as string);
    for (const range of rest) segments.push(run(parts.rangeJob(range, url, response.validator as string, signal)).catch(fail));
  });
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

/** A signal aborted by `parent` or by `controller`, without AbortSignal.any's weak references per call. */
function linked(parent: AbortSignal, controller: AbortController): AbortSignal {
  const signal = controller.signal;
  setMaxListeners(0, signal);
  if (parent.aborted) controller.abort(parent.reason);
  else parent.addEventListener('abort', () => controller.abort(parent.reason), { once: true, signal });
  return signal;
}

/** A segment's answer must be that range of that version; anything else would splice the file. */
export function checkSegment(response: TransferResponse, range: ByteRange, validator: string, url: URL): void {
  if (response.resumed === true && response.validator === validator) return;
  // Retryable: the next attempt starts over and fetches the version the source has now.
  throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} did not serve bytes ${range.start}-${range.end - 1} of the version it announced (validator ${validator})`, {
    retryable: true,
    details: { url: redactUrl(url), range: `${range.start}-${range.end - 1}`, validator, answered: response.validator ?? null, status: response.status ?? null },
  });
}
