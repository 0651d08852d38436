import { unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { lockPath, partPath, sidecarPath } from '@nectar/core/backend';
import type { Redis } from 'ioredis';
import type { ClusterKeys } from './naming.js';
import { stageOwner } from './staging.js';

/** A stage and what core's atomic writer keeps beside it: its part file, sidecar and lock. */
function stageFiles(stage: string): string[] {
  const part = partPath(stage);
  return [stage, part, sidecarPath(stage), lockPath(part)];
}

/** Stage records outlive a lost job by a day at most. */
const recordTtlSeconds = 86_400;

/**
 * Remembers, per job, the stage files its executions created. The execution that takes a job
 * over (after a worker died or froze past its lock) removes its predecessors' stages at once,
 * by name: no waiting for a sweep, and no walk over a whole mirror tree.
 */
export class StageRegistry {
  readonly #redis: Redis;
  readonly #keys: ClusterKeys;

  constructor(redis: Redis, keys: ClusterKeys) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async add(jobId: string, stage: string): Promise<void> {
    const key = this.#keys.stages(jobId);
    await this.#redis.multi().sadd(key, stage).expire(key, recordTtlSeconds).exec();
  }

  async remove(jobId: string, stage: string): Promise<void> {
    await this.#redis.srem(this.#keys.stages(jobId), stage);
  }

  /**
   * Removes the stages earlier executions of this job left and returns them. Their owners lost
   * the job: fencing stops them from committing, and a rename of a removed stage fails.
   */
  async clearEarlier(jobId: string): Promise<string[]> {
    const key = this.#keys.stages(jobId);
    const stages = await this.#redis.smembers(key);
    if (stages.length === 0) return [];
    // Only what is named as a stage: the set lives in Redis, and anyone who can write there must
    // not get any other file removed.
    const ours = stages.filter((stage) => stageOwner(basename(stage)) !== null);
    await Promise.all(ours.flatMap((stage) => stageFiles(stage).map((file) => unlink(file).catch(() => {}))));
    await this.#redis.srem(key, ...stages);
    return stages;
  }
}
