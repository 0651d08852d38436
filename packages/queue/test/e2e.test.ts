import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpFixture } from '@nectar/conformance';
import { DownloadRequest } from '@nectar/core';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostQueueName, jobIdOf } from '../src/index.js';
import type { RedisServer } from '../src/testing/index.js';
import { clusterName, producer, tempFolder, until } from './support/farm.js';
import { redisAvailable, redisServer } from './support/redis.js';
import { startWorker, type WorkerProcess } from './support/workers.js';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.runIf(redisAvailable)('producer → worker process → report', () => {
  const http = httpFixture();
  let redis: RedisServer;
  const cluster = clusterName('e2e');
  const workers: WorkerProcess[] = [];
  let folder: Awaited<ReturnType<typeof tempFolder>>;

  beforeAll(async () => {
    await http.start();
    redis = await redisServer();
    folder = await tempFolder();
    await writeFile(join(folder.path, 'creds.json'), JSON.stringify({ fixture: { username: http.credentials.username, password: http.credentials.password }, token: { query: { access_token: 'tok-q-s3cr3t' }, headers: { 'x-api-key': 'key-h-s3cr3t' } } }));
    workers.push(await startWorker(redis.url, cluster, 'w1', ['--credentials', join(folder.path, 'creds.json'), '--no-fsync']));
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await redis?.stop();
    await http.stop();
    await folder?.remove();
  });

  it('downloads over http (undici) and file:// (@nectar/file), reporting which worker holds each file', async () => {
    const body = Buffer.from('x'.repeat(70_000));
    const url = await http.publish('a.bin', body);
    await writeFile(join(folder.path, 'source.txt'), 'from a file');
    const d = producer(redis.url, cluster);
    const reports = await d.download([
      new DownloadRequest(url, join(folder.path, 'http.bin'), { data: { n: 1 } }),
      new DownloadRequest(pathToFileURL(join(folder.path, 'source.txt')), join(folder.path, 'file.txt')),
    ]);
    await d.close();
    expect(reports.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
    expect(reports[0]?.data).toEqual({ n: 1 });
    expect(await readFile(join(folder.path, 'http.bin'))).toEqual(body);
    expect(await readFile(join(folder.path, 'file.txt'), 'utf8')).toBe('from a file');
    expect(reports[0]?.storedAt).toEqual({ worker: 'w1', storage: 'shared', path: join(folder.path, 'http.bin') });
    expect(reports[1]?.toJSON().storedAt?.worker).toBe('w1');
  });

  it('is one job for the same request enqueued twice, and reports a file already present after the job is gone', async () => {
    const body = Buffer.from('dedup me '.repeat(5000));
    const url = await http.publish('dedup.bin', body);
    const dest = join(folder.path, 'dedup.bin');
    const request = () => new DownloadRequest(`${url}?rate=200000`, dest, { expectedDigest: { algorithm: 'sha256', value: sha256(body) } });
    const [a, b] = [producer(redis.url, cluster), producer(redis.url, cluster)];
    const before = http.received.filter((r) => r.url.startsWith('/files/dedup.bin')).length;
    const [[ra], [rb]] = await Promise.all([a.download([request()]), b.download([request()])]);
    expect([ra?.state, rb?.state]).toEqual(['succeeded', 'succeeded']);
    // One job ran; the producer that adopted it had its own job check the file (same id, run suffix).
    expect(rb?.jobId?.slice(0, 41)).toBe(ra?.jobId?.slice(0, 41));
    expect(http.received.filter((r) => r.url.startsWith('/files/dedup.bin')).length - before).toBe(1);
    // Completed jobs are not kept forever; once the job is gone, the same request finds the file in place.
    const { Redis } = await import('ioredis');
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(hostQueueName({ prefix: 'bull', cluster }, new URL(url).host), { connection });
    expect(await queue.remove(ra!.jobId!)).toBe(1);
    await queue.close();
    connection.disconnect();
    const c = producer(redis.url, cluster);
    const [rc] = await c.download([request()]);
    expect(rc?.state).toBe('succeeded');
    expect(rc?.alreadyPresent).toBe(true);
    expect(rc?.bytesDownloaded).toBe(body.length);
    expect(http.received.filter((r) => r.url.startsWith('/files/dedup.bin')).length - before).toBe(1);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('retries a 503 inside one job attempt and fails a 404 for good, without a second job attempt; failures carry the engine errorReport fields', async () => {
    const body = Buffer.from('retry body');
    const url = await http.publish('retry.bin', body);
    const d = producer(redis.url, cluster, {}, undefined, { retries: 2, retryDelay: 10 });
    const [ok, missing, refused] = await d.download([
      new DownloadRequest(`${url}?status=503&retry-after=1&times=1`, join(folder.path, 'retry.bin')),
      new DownloadRequest(http.missingUrl('nope.bin'), join(folder.path, 'nope.bin')),
      new DownloadRequest('http://127.0.0.1:9/refused.bin', join(folder.path, 'refused.bin')),
    ]);
    await d.close();
    expect(ok?.state).toBe('succeeded');
    expect(ok?.attempts).toBe(2);
    expect(await readFile(join(folder.path, 'retry.bin'))).toEqual(body);
    expect(missing?.state).toBe('failed');
    // Core's errorReport shape, rebuilt from the worker's: message, code, url, details, attempts.
    expect(missing?.errorReport).toMatchObject({ code: 'NECTAR_HTTP_STATUS', status: 404, url: http.missingUrl('nope.bin'), attempts: 1 });
    expect(typeof missing?.errorReport.message).toBe('string');
    expect(refused?.errorReport).toMatchObject({ code: 'NECTAR_CONNECT', attempts: 3, cause: expect.stringContaining('ECONNREFUSED') });
    expect(http.received.filter((r) => r.url.startsWith('/files/nope.bin'))).toHaveLength(1);
    expect(existsSync(join(folder.path, 'nope.bin'))).toBe(false);
  });

  it('keeps secrets out of Redis: refuses them in requests, resolves named credentials on the worker', async () => {
    const body = Buffer.from('secret file');
    await http.publish('private.bin', body);
    const url = http.url('/auth/files/private.bin');
    const d = producer(redis.url, cluster, { credential: (r) => (r.url.includes('/auth/') ? 'fixture' : undefined) });
    const withPassword = new URL(url);
    withPassword.username = 'user';
    withPassword.password = 'hunter2';
    const [good, refused, header] = await d.download([
      new DownloadRequest(url, join(folder.path, 'private.bin')),
      new DownloadRequest(withPassword, join(folder.path, 'refused.bin')),
      new DownloadRequest(url, join(folder.path, 'header.bin'), { headers: { Authorization: 'Basic abc' } }),
    ]);
    await d.close();
    expect(good?.state).toBe('succeeded');
    expect(await readFile(join(folder.path, 'private.bin'))).toEqual(body);
    expect(refused?.errorReport.code).toBe('NECTAR_INVALID_REQUEST');
    expect(header?.errorReport.code).toBe('NECTAR_INVALID_REQUEST');
    const stored = await redisDump(redis);
    expect(stored).not.toContain('hunter2');
    for (const secret of ['tok-q-s3cr3t', 'key-h-s3cr3t', 'apikey-in-clear', 'param-in-clear']) expect(stored).not.toContain(secret);
    expect(stored).not.toContain(http.credentials.password === '' ? 'never' : Buffer.from(`${http.credentials.username}:${http.credentials.password}`).toString('base64'));
  });

  it('refuses API-key headers and token query parameters, and resolves a query-token credential on the worker, masked in reports', async () => {
    const body = Buffer.from('token file');
    const url = await http.publish('token.bin', body);
    const d = producer(
      redis.url,
      cluster,
      { credential: (r) => (String(r.destination).endsWith('token.bin') ? 'token' : undefined), secretHeaders: ['x-custom-secret'] },
      undefined,
      { redactParams: ['x-my-sig'] },
    );
    const [viaCredential, apiKey, custom, param, fragment, redacted] = await d.download([
      new DownloadRequest(url, join(folder.path, 'token.bin')),
      new DownloadRequest(url, join(folder.path, 'apikey.bin'), { headers: { 'X-Api-Key': 'apikey-in-clear' } }),
      new DownloadRequest(url, join(folder.path, 'custom.bin'), { headers: { 'X-Custom-Secret': 'custom-in-clear' } }),
      new DownloadRequest(`${url}?access_token=param-in-clear`, join(folder.path, 'param.bin')),
      // OAuth's implicit flow puts the token in the fragment; config.redactParams names more secrets.
      new DownloadRequest(`${url}#/callback?access_token=fragment-in-clear`, join(folder.path, 'fragment.bin')),
      new DownloadRequest(`${url}?x-my-sig=redacted-in-clear`, join(folder.path, 'redacted.bin')),
    ]);
    await d.close();
    expect(viaCredential?.state).toBe('succeeded');
    expect(await readFile(join(folder.path, 'token.bin'))).toEqual(body);
    // The origin got the token the worker added; the report shows the URL the caller gave.
    const seen = http.received.filter((r) => r.url.startsWith('/files/token.bin')).at(-1);
    expect(seen?.url).toContain('access_token=tok-q-s3cr3t');
    expect(seen?.headers['x-api-key']).toBe('key-h-s3cr3t');
    expect(JSON.stringify(viaCredential?.toJSON())).not.toContain('tok-q-s3cr3t');
    for (const refused of [apiKey, custom, param, fragment, redacted]) expect(refused?.errorReport.code).toBe('NECTAR_INVALID_REQUEST');
    expect(param?.errorReport.message).toContain('access_token');
    expect(fragment?.errorReport.message).toContain('fragment parameter access_token');
    expect(JSON.stringify([apiKey, custom, param, fragment, redacted].map((r) => r?.toJSON()))).not.toMatch(/in-clear/);
    const stored = await redisDump(redis);
    for (const secret of ['tok-q-s3cr3t', 'key-h-s3cr3t', 'apikey-in-clear', 'custom-in-clear', 'param-in-clear', 'fragment-in-clear', 'redacted-in-clear']) expect(stored).not.toContain(secret);
  });

  it('stores files local to a worker under its root, and says where', async () => {
    const localCluster = clusterName('local');
    workers.push(await startWorker(redis.url, localCluster, 'local-1', ['--storage', 'local', '--root', join(folder.path, 'root')]));
    const body = Buffer.from('local copy');
    const url = await http.publish('local.bin', body);
    const d = producer(redis.url, localCluster);
    await mkdir(join(folder.path, 'root', folder.path), { recursive: true });
    const [report] = await d.download([new DownloadRequest(url, join(folder.path, 'local.bin'))]);
    await d.close();
    expect(report?.state).toBe('succeeded');
    expect(report?.storedAt).toEqual({ worker: 'local-1', storage: 'local', path: join(folder.path, 'root', folder.path, 'local.bin') });
    expect(await readFile(report!.storedAt!.path)).toEqual(body);
    expect(await readdir(folder.path)).not.toContain('local.bin');
  });

  it('cancels a whole batch: running jobs stop on their workers, waiting ones never start', async () => {
    const url = await http.publish('batch.bin', Buffer.alloc(200_000, 7));
    const dest = await tempFolder();
    let succeeded = 0;
    const d = producer(redis.url, cluster, {}, { downloadSucceeded: () => void succeeded++ });
    const started = Date.now();
    const run = d.download(Array.from({ length: 60 }, (_, i) => new DownloadRequest(`${url}?rate=400000&i=${i}`, join(dest.path, `b${i}`))));
    await until('a first success', () => succeeded > 0);
    d.cancel();
    const reports = await run;
    const canceledAfter = Date.now() - started;
    await d.close();
    expect(reports).toHaveLength(60);
    expect(reports.filter((r) => r.state === 'canceled').length).toBeGreaterThan(40);
    expect(reports.every((r) => r.state === 'canceled' || r.state === 'succeeded')).toBe(true);
    expect(canceledAfter).toBeLessThan(10_000);
    expect((await readdir(dest.path)).filter((f) => f.includes('nectar'))).toEqual([]);
    await dest.remove();
  });

  it('starts a request only when a worker takes it: canceled while it waits, it fires only downloadCanceled', async () => {
    const url = await http.publish('unstarted.bin', Buffer.from('never taken'));
    const events: string[] = [];
    const record = (name: string) => () => void events.push(name);
    const listener = { downloadStarted: record('S'), downloadProgress: record('P'), downloadSucceeded: record('D'), downloadFailed: record('F'), downloadCanceled: record('C') };
    // No worker serves this cluster: the job waits in Redis.
    const d = producer(redis.url, clusterName('idle'), { cancelGrace: 500 }, listener);
    const run = d.download([new DownloadRequest(url, join(folder.path, 'unstarted.bin'))]);
    // Past the batch delay: the job is in Redis, waiting.
    await new Promise((resolve) => setTimeout(resolve, 300));
    d.cancel();
    const [report] = await run;
    await d.close();
    expect(report?.state).toBe('canceled');
    expect(report?.startTime).toBeNull();
    expect(events).toEqual(['C']);
  });

  it('gives job ids that hash the canonical request', () => {
    const a = jobIdOf([{ url: 'https://h/a', destination: '/x', headers: { A: '1', b: '2' } }]);
    const b = jobIdOf([{ destination: '/x', url: 'https://h/a', headers: { b: '2', a: '1' } }]);
    expect(a).toBe(b);
    expect(jobIdOf([{ url: 'https://h/a', destination: '/y' }])).not.toBe(a);
  });
});

/** Every string value stored in Redis, to look for secrets. */
async function redisDump(redis: RedisServer): Promise<string> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redis.url);
  try {
    const keys = await client.keys('*');
    const parts: string[] = [];
    for (const key of keys) {
      const type = await client.type(key);
      if (type === 'hash') parts.push(JSON.stringify(await client.hgetall(key)));
      else if (type === 'string') parts.push(String(await client.get(key)));
      else if (type === 'stream') parts.push(JSON.stringify(await client.xrange(key, '-', '+')));
    }
    return parts.join('\n');
  } finally {
    client.disconnect();
  }
}
