import { Redis, type RedisOptions } from 'ioredis';

/** A redis:// URL, ioredis options, or a client the caller owns (never closed by us). */
export type RedisConnection = string | RedisOptions | Redis;

export interface OwnedRedis {
  readonly client: Redis;
  close(): Promise<void>;
}

/**
 * BullMQ 6 loads ioredis with `require`, which native ESM lacks, so we hand it a client. BullMQ
 * needs `maxRetriesPerRequest: null`: a command waits through a Redis restart instead of failing.
 */
export function openRedis(connection: RedisConnection, name?: string): OwnedRedis {
  if (connection instanceof Redis) return { client: connection, close: async () => {} };
  // A name shows in CLIENT LIST: an operator counts each process's connections (duplicates keep it).
  const options: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true, ...(name === undefined ? {} : { connectionName: name }) };
  const client = typeof connection === 'string' ? new Redis(connection, options) : new Redis({ ...connection, ...options });
  // Errors surface as failed commands; without a listener ioredis logs every reconnect attempt.
  client.on('error', () => {});
  return {
    client,
    async close() {
      await client.quit().catch(() => client.disconnect());
    },
  };
}
