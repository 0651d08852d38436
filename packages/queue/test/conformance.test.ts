import { httpFixture, runConformanceSuite } from '@nectar/conformance';
import { afterAll, describe, it } from 'vitest';
import { QueueDownloader, runWorker } from '../src/index.js';
import { redisAvailable, redisServer, redisSkipReason } from './support/redis.js';

// The suite registers its cases at load time and creates a probe downloader then, so Redis and
// an in-process worker start here, before it (top-level await).
if (redisAvailable) {
  const redis = await redisServer();
  const cluster = 'conformance';
  const worker = await runWorker({ redis: redis.url, cluster, concurrency: 16, discoveryInterval: 50, progressInterval: 50, cancelPollInterval: 50, fsync: false });
  afterAll(async () => {
    await worker.close();
    await redis.stop();
  });
  runConformanceSuite({
    name: 'queue',
    create: (config, listener) => new QueueDownloader(config, listener, { redis: redis.url, cluster, pollInterval: 250, cancelGrace: 3000 }),
    fixture: httpFixture(),
  });
} else {
  describe('queue conformance', () => it.skip(`skipped: ${redisSkipReason()}`, () => {}));
}
