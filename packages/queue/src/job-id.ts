import { createHash } from 'node:crypto';
import type { JobRequest } from './job-data.js';

/**
 * A job's id is the hash of what it will produce: the same requests enqueued twice while the job
 * exists are one job (BullMQ ignores an add whose id exists). Keys are sorted so that property
 * order never makes two equal requests differ.
 */
export function jobIdOf(requests: readonly JobRequest[]): string {
  const canonical = JSON.stringify(requests.map(canonicalRequest));
  // A prefix: BullMQ treats an all-digit id as a custom integer id.
  return `r${createHash('sha256').update(canonical).digest('hex').slice(0, 40)}`;
}

function canonicalRequest(request: JobRequest): unknown[] {
  return [
    request.url,
    request.destination,
    request.mirrors ?? [],
    request.expectedSize ?? null,
    request.expectedDigest ? [request.expectedDigest.algorithm, request.expectedDigest.value] : null,
    request.credential ?? null,
    Object.entries(request.headers ?? {})
      .map(([k, v]) => [k.toLowerCase(), v])
      .sort(([a], [b]) => String(a).localeCompare(String(b))),
  ];
}
