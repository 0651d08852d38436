import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type QueueWorker, clusterKeys, hostQueueName, runWorker } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, tempFolder, until } from './support/farm.js';
import { type Origin, startOrigin } from './support/origin.js';
import { redisAvailable, redisServer } from './support/redis.js';

/**
 * Job data written into the farm's Redis by someone who can write there, not by a producer: a
 * worker must keep its files inside its storage root, remove only stage files, and send a
 * credential only where the credential allows.
 */
describe.runIf(redisAvailable)('a worker given forged job data', () => {
  let origin: Origin;
  let redis: RedisServer;
  let folder: Awaited<ReturnType<typeof tempFolder>>;
  let worker: QueueWorker;
  let connection: Redis;
  let queue: Queue;
  const cluster = clusterName('forged');
  const root = () => join(folder.path, 'root');

  beforeAll(async () => {
    origin = await startOrigin();
    redis = await redisServer();
    folder = await tempFolder();
    await mkdir(root(), { recursive: true });
    connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const name = { prefix: 'bull', cluster };
    queue = new Queue(hostQueueName(name, origin.host), { connection, prefix: 'bull' });
    await connection.sadd(clusterKeys(name).hosts, queue.name);
    worker = await runWorker({
      redis: redis.url,
      cluster,
      id: 'w-forged',
      storage: { mode: 'local', root: root() },
      credentials: { api: { headers: { 'X-Api-Key': 'worker-secret-789' }, origins: ['https://files.example.org'] } },
      concurrency: 1,
      fsync: false,
      warn: () => {},
    });
  });
  afterAll(async () => {
    await worker?.close();
    await queue?.close();
    connection?.disconnect();
    await redis?.stop();
    await origin?.stop();
    await folder?.remove();
  });

  async function run(id: string, request: Record<string, unknown>): Promise<Record<string, unknown>> {
    await queue.add('download', { v: 1, run: `forged-${id}`, profile: {}, requests: [request] }, { jobId: id });
    await until(`job ${id} to end`, async () => ['completed', 'failed'].includes(await queue.getJobState(id)));
    const job = await queue.getJob(id);
    const value = job?.returnvalue as { reports: Record<string, unknown>[] } | undefined;
    return value?.reports[0] ?? {};
  }

  it('keeps a destination that climbs out with .. or is relative inside the storage root', async () => {
    const outside = join(folder.path, 'escaped-abs');
    // Where the absolute one lands once re-rooted: local storage does not create folders.
    await mkdir(join(root(), folder.path), { recursive: true });
    for (const [id, destination] of [
      ['abs', `/../../../../../../..${outside}`],
      ['rel', 'escaped-rel'],
    ] as const) {
      const report = await run(id, { url: origin.url(id, { size: 10 }), destination });
      expect(String((report.storedAt as { path: string } | null)?.path), JSON.stringify(report)).toMatch(new RegExp(`^${root()}/`));
    }
    expect(existsSync(outside)).toBe(false);
  });

  it('removes only stage files among the stages a job record names', async () => {
    const victim = join(folder.path, 'victim.txt');
    await writeFile(victim, 'precious');
    await connection.sadd(clusterKeys({ prefix: 'bull', cluster }).stages('stage'), victim);
    const report = await run('stage', { url: origin.url('f/stage', { size: 10 }), destination: '/stage-dest' });
    expect(report.state).toBe('succeeded');
    expect(existsSync(victim)).toBe(true);
  });

  it('sends a credential only to the origins it lists', async () => {
    origin.reset();
    const report = await run('cred', { url: origin.url('f/exfil', { size: 10 }), destination: '/exfil', credential: 'api' });
    expect(report.state).toBe('failed');
    expect((report.errorReport as { code: string }).code).toBe('NECTAR_AUTH');
    expect(origin.hits.filter((h) => h.path.includes('exfil'))).toEqual([]);
    // Nor through a mirror: an allowed URL that fails, then one elsewhere.
    const mirrored = await run('cred-mirror', { url: 'https://files.example.org/missing', mirrors: [origin.url('f/exfil-mirror', { size: 10 })], destination: '/exfil-mirror', credential: 'api' });
    expect((mirrored.errorReport as { code: string }).code).toBe('NECTAR_AUTH');
    expect(origin.hits.filter((h) => h.path.includes('exfil'))).toEqual([]);
  });
});
