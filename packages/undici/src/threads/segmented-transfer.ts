import { setMaxListeners } from 'node:events';
import type { TransferJob } from '@nectar/core/backend';
import type { Segment } from './threaded-transfer.js';
import type { SegmentPlan } from './messages.js';

export type RunSegment = (job: TransferJob, segment: Segment) => Promise<void>;

/**
 * One attempt at a file that may be fetched in segments, as aria2c -x does: the first request
 * asks for the whole file; when its worker sees a large file served in ranges, it keeps the first
 * segment and the others start on other workers, each writing its range in place. The attempt
 * ends when every segment has; the first failure stops the others and is the attempt's.
 */
export async function runSegmented(job: TransferJob, split: number, run: RunSegment): Promise<void> {
  const group = new AbortController();
  const signal = AbortSignal.any([job.signal, group.signal]);
  setMaxListeners(0, signal);
  const segments: Promise<void>[] = [];
  let failure: unknown;
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = error;
    group.abort(error);
  };
  const onSplit = (plan: SegmentPlan) => {
    for (const range of plan.ranges) {
      const segmentJob: TransferJob = { ...job, signal, validator: plan.validator, responded: async () => {} };
      segments.push(run(segmentJob, { kind: 'range', range, url: plan.url }).catch(fail));
    }
  };
  await run({ ...job, signal }, { kind: 'whole', split, onSplit }).catch(fail);
  await Promise.all(segments);
  // core tells its own cancel apart by its own signal; the reason it sees is its own too.
  if (job.signal.aborted) throw job.signal.reason;
  if (failure !== undefined) throw failure;
}
