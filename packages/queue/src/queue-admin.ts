import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { type OwnedRedis, openRedis, type RedisConnection } from './connection.js';
import { drainHostQueue } from './drain-marks.js';
import { applyHostLimits, type FarmHostLimits, farmHostLimits, type HostLimits, operatorLimitHosts, readHostLimits, storeOperatorLimits } from './host-limits.js';
import { type ClusterKeys, type ClusterName, clusterKeys, defaultCluster, hostQueueName, queueMetaPattern } from './naming.js';
import { listRuns, type RunStatus, readRunStatus } from './run-status.js';

export interface QueueAdminOptions {
  redis: RedisConnection;
  cluster?: string;
  prefix?: string;
}

/** One host queue as an operator sees it. */
export interface HostQueueInfo {
  queue: string;
  paused: boolean;
  waiting: number;
  active: number;
  completed: number;
  failed: number;
  delayed: number;
}

/**
 * What an operator does to a running farm, from any process: pause and resume a host or the
 * whole farm, change, list and clear host limits, drain waiting jobs, read a run's status.
 * `nectar queue …` is this class on the command line.
 */
export class QueueAdmin {
  readonly #redis: OwnedRedis;
  readonly #name: ClusterName;
  readonly #keys: ClusterKeys;
  readonly #queues = new Map<string, Queue>();

  constructor(options: QueueAdminOptions) {
    this.#redis = openRedis(options.redis);
    this.#name = { prefix: options.prefix ?? defaultCluster.prefix, cluster: options.cluster ?? defaultCluster.cluster };
    this.#keys = clusterKeys(this.#name);
  }

  get client(): Redis {
    return this.#redis.client;
  }

  /** Every host queue of the farm: the registry, and BullMQ's own keys (a restart may empty the registry). */
  async queueNames(): Promise<string[]> {
    const names = new Set(await this.client.smembers(this.#keys.hosts));
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', queueMetaPattern(this.#name), 'COUNT', 1000);
      cursor = next;
      for (const key of keys) names.add(key.slice(this.#name.prefix.length + 1, -':meta'.length));
    } while (cursor !== '0');
    return [...names].sort();
  }

  async hosts(): Promise<HostQueueInfo[]> {
    const infos: HostQueueInfo[] = [];
    for (const name of await this.queueNames()) {
      const queue = this.queue(name);
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'completed', 'failed', 'delayed');
      infos.push({
        queue: name,
        paused: await queue.isPaused(),
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
        delayed: counts.delayed ?? 0,
      });
    }
    return infos;
  }

  /**
   * Stops workers taking jobs of a host (or every host); running ones finish. The whole farm's
   * pause also holds for host queues that appear later (workers read it with their discovery).
   */
  async pause(host?: string): Promise<string[]> {
    if (host === undefined) await this.client.set(this.#keys.paused, new Date().toISOString());
    const names = await this.#target(host);
    for (const name of names) await this.queue(name).pause();
    return names;
  }

  async resume(host?: string): Promise<string[]> {
    if (host === undefined) await this.client.del(this.#keys.paused);
    const names = await this.#target(host);
    for (const name of names) await this.queue(name).resume();
    return names;
  }

  /**
   * Removes the waiting (and delayed) jobs of a host or of every host; running ones finish. It
   * sticks: each run that had a job removed adds nothing more to that host, and its producer
   * fails those requests (`NECTAR_CANCELED`, `drained: true`) instead of adding them again.
   */
  async drain(host?: string): Promise<string[]> {
    const names = await this.#target(host);
    for (const name of names) await drainHostQueue(this.client, this.#keys, this.queue(name));
    return names;
  }

  /**
   * Changes a host's limits now, for every worker, merged into those in force: `{ maxPerHost,
   * hostRate }`, core's fields (the old `concurrency`, `requestsPerSecond` still work, deprecated).
   * They win over producers' limits (which never overwrite them) until `clearLimits()`.
   */
  async setLimits(host: string, limits: HostLimits): Promise<void> {
    const wanted = farmHostLimits(limits, 'setLimits()');
    const current = (await readHostLimits(this.client, this.#keys))[host] ?? {};
    const merged: FarmHostLimits = { ...current, ...wanted };
    await storeOperatorLimits(this.client, this.#keys, host, merged);
    await applyHostLimits(this.queue(hostQueueName(this.#name, host)), merged);
  }

  /** Removes a host's limits, the operator's included: producers' limits apply again when they next register the host. */
  async clearLimits(host: string): Promise<void> {
    await storeOperatorLimits(this.client, this.#keys, host, undefined);
    await applyHostLimits(this.queue(hostQueueName(this.#name, host)), undefined);
  }

  /** The limits in force, by host, in core's names (`maxPerHost`, `hostRate`). */
  listLimits(): Promise<Record<string, FarmHostLimits>> {
    return readHostLimits(this.client, this.#keys);
  }

  /** Hosts whose limits an operator set (producers' limits do not replace them). */
  operatorLimitHosts(): Promise<string[]> {
    return operatorLimitHosts(this.client, this.#keys);
  }

  runStatus(run: string): Promise<RunStatus | null> {
    return readRunStatus(this.client, this.#keys, run);
  }

  runs(count?: number): Promise<string[]> {
    return listRuns(this.client, this.#keys, count);
  }

  queue(name: string): Queue {
    let queue = this.#queues.get(name);
    if (queue === undefined) {
      queue = new Queue(name, { connection: this.client, prefix: this.#name.prefix });
      queue.on('error', () => {});
      this.#queues.set(name, queue);
    }
    return queue;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#queues.values()].map((q) => q.close().catch(() => {})));
    await this.#redis.close();
  }

  async #target(host: string | undefined): Promise<string[]> {
    return host === undefined ? this.queueNames() : [hostQueueName(this.#name, host)];
  }
}
