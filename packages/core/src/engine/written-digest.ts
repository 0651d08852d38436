import type { TransferJob } from './job.js';

/**
 * Digests computed where the bytes were written, by job: core's executor hashes a whole file in
 * the worker that writes it, so that the engine need not read the file back to verify it.
 */
const digests = new WeakMap<TransferJob, string>();

export function digestWritten(job: TransferJob, hex: string): void {
  digests.set(job, hex);
}

/** The digest of everything `job` wrote, when its writer computed one. */
export function writtenDigest(job: TransferJob): string | null {
  return digests.get(job) ?? null;
}
