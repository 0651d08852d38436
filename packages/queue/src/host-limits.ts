import type { Queue } from 'bullmq';

/** Politeness towards one host, held across the whole farm. */
export interface HostLimits {
  /** Requests to the host at once, over every worker. */
  concurrency?: number;
  /** Requests started per second, over every worker. */
  requestsPerSecond?: number;
}

/**
 * Stored on the host's queue with BullMQ's global concurrency and global rate limit, which every
 * worker obeys when it fetches a job: no limiter of our own, and a host's jobs simply wait.
 * The rate is spread evenly (one job per 1/rate s) rather than in bursts of `rate` per second.
 */
export async function applyHostLimits(queue: Queue, limits: HostLimits | undefined): Promise<void> {
  if (limits?.concurrency !== undefined) await queue.setGlobalConcurrency(limits.concurrency);
  else await queue.removeGlobalConcurrency();
  if (limits?.requestsPerSecond !== undefined) await queue.setGlobalRateLimit(1, Math.max(1, Math.round(1000 / limits.requestsPerSecond)));
  else await queue.removeGlobalRateLimit();
}
