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
    /** SET of request indexes (or '*') canceled inside one job. */
    canceledJob: (jobId: string) => `${base}:cancel:job:${jobId}`,
    /** A live worker's heartbeat (expires when it dies). */
    worker: (id: string) => `${base}:worker:${id}`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;
