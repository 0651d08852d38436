/**
 * Where things live in Redis. BullMQ owns `<prefix>:<queue>:*`; our own keys sit beside them
 * under `<prefix>:<cluster>:nectar:*`, so one `prefix` + `cluster` pair is one download farm.
 */
export interface ClusterName {
  /** BullMQ's key prefix (default 'bull'). */
  readonly prefix: string;
  /** The farm's name; host queues are `<cluster>.<host>` (default 'nectar'). */
  readonly cluster: string;
}

export const defaultCluster: ClusterName = { prefix: 'bull', cluster: 'nectar' };

/** The politeness unit: requests to one host share one queue, so its limits hold cluster-wide. */
export function hostOf(url: string): string {
  const { protocol, host } = new URL(url);
  // file: URLs (and any scheme without a host) share one local queue.
  return host === '' ? `${protocol.slice(0, -1)}-local` : host.toLowerCase();
}

/** BullMQ forbids ':' in queue names; a host's port has one. */
export function hostQueueName(name: ClusterName, host: string): string {
  return `${name.cluster}.${host.replace(/[^A-Za-z0-9.\-_[\]]/g, '_')}`;
}

export function clusterKeys(name: ClusterName) {
  const base = `${name.prefix}:${name.cluster}:nectar`;
  return {
    /** SET of host queue names workers listen to. */
    hosts: `${base}:hosts`,
    /** A run marked canceled: every job of the run ends canceled. */
    canceledRun: (run: string) => `${base}:cancel:run:${run}`,
    /** SET of request indexes (or '*') one run canceled inside one job: another run's cancel never reaches it. */
    canceledJob: (jobId: string, run: string) => `${base}:cancel:job:${jobId}:${run}`,
    /** SET of the stage files executions of a job created, removed when the job is redelivered. */
    stages: (jobId: string) => `${base}:stages:${jobId}`,
    /** HASH request id → `size:mtimeMs` of the file a worker stored: dedup per request. */
    stored: `${base}:stored`,
    /** ZSET request id → when stored, to keep `stored` to a bounded count. */
    storedOrder: `${base}:stored:order`,
    /** Set while the whole farm is paused: workers take no job of any host, even a new one. */
    paused: `${base}:paused`,
    /** HASH host → JSON HostLimits: the limits in force, what workers read and operators list. */
    limits: `${base}:limits`,
    /** HASH host → JSON HostLimits an operator set: producers never overwrite these. */
    operatorLimits: `${base}:limits:operator`,
    /** HASH queue name → when an operator drained it, for one run: its producer adds nothing more there. */
    drainedRun: (run: string) => `${base}:drained:run:${run}`,
    /** SET of the job ids a drain removed from one host queue (a producer may be waiting on another run's job). */
    drainedJobs: (queueName: string) => `${base}:drained:jobs:${queueName}`,
    /** Pub/sub channel: a producer names a host queue it just added jobs to. */
    added: `${base}:added`,
    /** HASH of one run's status and counts; LIST of its failed items (bounded). */
    run: (run: string) => `${base}:run:${run}`,
    runFailed: (run: string) => `${base}:run:${run}:failed`,
    /** ZSET of runs by start time, for `nectar queue runs`. */
    runs: `${base}:runs`,
    /** A live worker's heartbeat (expires when it dies). */
    worker: (id: string) => `${base}:worker:${id}`,
  };
}

/** BullMQ's hash of a queue's settings: present for every queue that ever held a job. */
export function queueMetaPattern(name: ClusterName): string {
  return `${name.prefix}:${name.cluster}.*:meta`;
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;
