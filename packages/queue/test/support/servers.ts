import { redisSkipReason, serversRequired } from './redis.js';
import { clearSkip, recordSkip } from './skipped.js';

/**
 * vitest globalSetup: decides once whether the Redis tests can run. A missing redis-server fails
 * the run where servers are required (CI=true or NECTAR_REQUIRE_SERVERS=1; importing ./redis.js
 * throws then); elsewhere those tests skip and the teardown prints one line saying what was
 * skipped and how to install the server, on stderr after vitest's summary (and again after
 * turbo's output, from the root `posttest`).
 */
export default function setup(): () => void {
  const reason = redisSkipReason();
  if (reason === null || serversRequired()) {
    clearSkip('@nectar/queue');
    return () => {};
  }
  const line = recordSkip('@nectar/queue', `SKIPPED @nectar/queue: the tests against Redis (e2e, limits, recovery, backpressure, conformance) did not run: ${reason}`);
  return () => {
    process.stderr.write(`\n${line}\n`);
  };
}
