import { hasRedisServer, type RedisServer, type RedisServerOptions, startRedisServer } from '../../src/testing/index.js';

/**
 * The tests' own redis-server. Missing in CI is a failure (.ci/run installs it); on a developer
 * machine without it the Redis tests are skipped, visibly.
 */
export const redisAvailable = hasRedisServer();

if (!redisAvailable && process.env.CI === 'true') {
  throw new Error('redis-server is not installed, and CI must run the queue tests (apt-get install redis-server)');
}

export async function redisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return startRedisServer(options);
}
