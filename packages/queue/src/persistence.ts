import type { Redis } from 'ioredis';

/**
 * Whether Redis keeps anything across a restart (an append-only file or RDB snapshots). A farm
 * on a Redis without either loses queued jobs, dedup records, limits and run status on restart;
 * producers add their unsettled jobs again and re-register limits, but nothing else survives.
 * Returns the warning to show, or null. A Redis that refuses CONFIG (managed services) is
 * assumed to persist: its operator decided.
 */
export async function persistenceWarning(redis: Redis): Promise<string | null> {
  try {
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    const save = (await redis.config('GET', 'save')) as string[];
    if (aof[1] === 'yes' || (save[1] ?? '').trim() !== '') return null;
    return 'Redis has no persistence (appendonly no, save ""): a Redis restart loses waiting jobs, dedup records, host limits and run status; producers still running re-add their jobs and limits. Run Redis with --appendonly yes.';
  } catch {
    return null;
  }
}
