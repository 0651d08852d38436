import { existsSync } from 'node:fs';
import { hasRedisServer, type RedisServer, type RedisServerOptions, startRedisServer } from '../../src/testing/index.js';

/** The redis-server the tests run: $NECTAR_REDIS_SERVER, else `redis-server` on PATH. */
export const redisBinary = process.env.NECTAR_REDIS_SERVER || 'redis-server';

/**
 * Whether a test server that is not installed fails the tests instead of skipping them:
 * NECTAR_REQUIRE_SERVERS=1, or CI=true unless NECTAR_REQUIRE_SERVERS=0.
 */
export function serversRequired(): boolean {
  const required = process.env.NECTAR_REQUIRE_SERVERS;
  if (required === '1' || required === 'true') return true;
  if (required === '0' || required === 'false') return false;
  return process.env.CI === 'true';
}

/** Why the Redis tests cannot run here, with the command that installs it, or null when they can. */
export function redisSkipReason(): string | null {
  if (hasRedisServer(redisBinary)) return null;
  if (process.env.NECTAR_REDIS_SERVER) {
    const what = existsSync(redisBinary) ? 'does not run' : 'does not exist';
    return `NECTAR_REDIS_SERVER=${redisBinary} ${what} (unset it to use redis-server from PATH, or install it: apt-get install redis-server)`;
  }
  return 'redis-server is not installed (install it: apt-get install redis-server, or set NECTAR_REDIS_SERVER=/path/to/redis-server)';
}

/**
 * The tests' own redis-server. Missing where servers are required (CI=true, which .ci/run sets
 * and where it installs redis-server, or NECTAR_REQUIRE_SERVERS=1) is a failure; elsewhere the
 * Redis tests are skipped and test/support/servers.ts says so on stderr.
 */
const skipReason = redisSkipReason();
export const redisAvailable = skipReason === null;

if (skipReason !== null && serversRequired()) {
  throw new Error(`the queue's Redis tests must run here (CI=true or NECTAR_REQUIRE_SERVERS=1), but ${skipReason}`);
}

export async function redisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  return startRedisServer({ binary: redisBinary, ...options });
}
