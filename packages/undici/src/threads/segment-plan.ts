import type { TransferResponse } from '@nectar/core/backend';
import { type ResponseHeaders, headerValue } from '@nectar/core/http';
import type { ByteRange, SegmentPlan, StartMessage } from './messages.js';

/** Below this many bytes per segment, another connection costs more than it brings. */
export const minSegmentBytes = 32 * 1024 * 1024;

/**
 * Whether the first response of a file lets it be fetched in `start.split` segments, and how: a
 * whole 200 of known size that the server says it serves in ranges, with a validator so that
 * every segment comes from the same version (If-Range). The first segment is the caller's.
 */
export function planSegments(start: StartMessage, response: TransferResponse, headers: ResponseHeaders): SegmentPlan | null {
  const size = response.totalBytes;
  const validator = response.validator ?? null;
  if (start.split < 2 || start.range !== null || start.offset > 0 || start.target.kind !== 'file') return null;
  if (response.status !== 200 || size === null || validator === null || response.finalUrl === undefined) return null;
  if (!/\bbytes\b/i.test(headerValue(headers, 'accept-ranges') ?? '')) return null;
  const count = Math.min(start.split, Math.floor(size / minSegmentBytes));
  if (count < 2) return null;
  return { url: response.finalUrl, validator, ranges: splitRange(size, count).slice(1) };
}

function splitRange(size: number, count: number): ByteRange[] {
  const step = Math.ceil(size / count);
  const ranges: ByteRange[] = [];
  for (let start = 0; start < size; start += step) ranges.push({ start, end: Math.min(size, start + step) });
  return ranges;
}

/** The part of the file the first request keeps for itself: up to the first other range. */
export function firstSegmentEnd(plan: SegmentPlan): number {
  return plan.ranges[0]?.start ?? Number.POSITIVE_INFINITY;
}
