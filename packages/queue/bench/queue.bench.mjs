// npm run bench — figures for the README and the release note; never part of CI.
//
//   throughput  N tiny file:// requests through 1, 2 and 4 worker processes
//   recovery    time from SIGKILL of the worker holding a job to the job's completion elsewhere
//   memory      producer heap/RSS and Redis used_memory while 1,000,000 requests stream through,
//               at the producer's and worker's defaults
//
// One machine shows correctness and per-worker cost, not a multi-machine speed-up: every worker
// here shares the same 2 cores and disk. BENCH_REQUESTS changes the 1,000,000; BENCH_ONLY runs one part.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DownloadRequest } from '@nectar/core';
import { QueueDownloader } from '../dist/index.js';
import { startRedisServer } from '../dist/testing/index.js';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const MILLION = Number(process.env.BENCH_REQUESTS ?? 1_000_000);
const redis = await startRedisServer();
const root = await mkdtemp(join(tmpdir(), 'nectar-queue-bench-'));
const source = join(root, 'tiny.txt');
await writeFile(source, 'sixteen bytes!!\n');
let clusters = 0;

async function worker(cluster, id, extra = []) {
  const args = [cli, '--redis', redis.url, '--cluster', cluster, '--id', id, '--max-concurrent', '16', '--no-fsync', '--discovery-interval', '0.1', ...extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await once(child.stdout, 'data');
  return child;
}

async function stop(children) {
  await Promise.all(children.map(async (c) => {
    if (c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, 'exit');
    c.kill('SIGKILL');
    await exited;
  }));
}

/** Tiny requests spread over 1000 folders; files are removed as reports arrive, to spare inodes. */
function* tinyRequests(count, folder) {
  for (let i = 0; i < count; i++) yield new DownloadRequest(pathToFileURL(source), join(folder, String(i % 1000), `f${i}`), { expectedSize: 16 });
}

async function folderFor(name) {
  const folder = join(root, name);
  for (let i = 0; i < 1000; i++) await mkdir(join(folder, String(i)), { recursive: true });
  return folder;
}

async function throughput(workers, count) {
  const cluster = `bench-${++clusters}`;
  const children = [];
  for (let i = 0; i < workers; i++) children.push(await worker(cluster, `t${i}`));
  const folder = await folderFor(cluster);
  const d = new QueueDownloader({}, undefined, { redis: redis.url, cluster, maxWaiting: 200, batchSize: 64 });
  const started = performance.now();
  let n = 0;
  for await (const r of d.stream(tinyRequests(count, folder))) if (r.state === 'succeeded') n++;
  const seconds = (performance.now() - started) / 1000;
  await d.close();
  await stop(children);
  await rm(folder, { recursive: true, force: true });
  return { workers, requests: count, succeeded: n, seconds: +seconds.toFixed(1), perSecond: Math.round(n / seconds) };
}

async function recovery() {
  const cluster = `bench-${++clusters}`;
  const big = join(root, 'big.bin');
  await writeFile(big, Buffer.alloc(8 * 1024 * 1024, 1));
  const timing = ['--lock-duration', '5', '--stalled-interval', '1', '--progress-interval', '0.1'];
  const doomed = await worker(cluster, 'doomed', [...timing, '--limit-rate', '2M']);
  const folder = await folderFor(cluster);
  let killedAt = 0;
  let survivor;
  const d = new QueueDownloader({}, {
    downloadProgress(r) {
      if (killedAt === 0 && r.bytesDownloaded > 0) {
        killedAt = performance.now();
        doomed.kill('SIGKILL');
        void worker(cluster, 'survivor', timing).then((c) => (survivor = c));
      }
    },
  }, { redis: redis.url, cluster });
  const [report] = await d.download([new DownloadRequest(pathToFileURL(big), join(folder, 'big.bin'))]);
  const total = performance.now() - killedAt;
  await d.close();
  await stop([doomed, survivor].filter(Boolean));
  return { state: report.state, worker: report.storedAt?.worker, killToDoneMs: Math.round(total), note: 'lock 5 s, stalled check 1 s, 8 MiB re-copied at full speed' };
}

async function million() {
  const cluster = `bench-${++clusters}`;
  const children = [await worker(cluster, 'm1'), await worker(cluster, 'm2')];
  const folder = await folderFor(cluster);
  // The producer's defaults (batches of 32, 1,000 waiting, 1,000 finished jobs kept): Redis memory as a farm runs it.
  const d = new QueueDownloader({}, undefined, { redis: redis.url, cluster });
  const samples = [];
  let n = 0;
  let failed = 0;
  const started = performance.now();
  const sampler = setInterval(async () => {
    const mem = process.memoryUsage();
    // A Redis too busy to answer INFO within its timeout skips a sample; it must not end the run.
    const redisBytes = await redis.usedMemory().catch(() => Number.NaN);
    samples.push({ done: n, heapMB: mem.heapUsed / 2 ** 20, rssMB: mem.rss / 2 ** 20, redisMB: redisBytes / 2 ** 20 });
  }, 2000);
  for await (const r of d.stream(tinyRequests(MILLION, folder))) {
    n++;
    if (r.state !== 'succeeded') failed++;
  }
  clearInterval(sampler);
  const seconds = (performance.now() - started) / 1000;
  await d.close();
  await stop(children);
  await rm(folder, { recursive: true, force: true });
  const at = (f) => samples.filter((s) => s.done >= f * MILLION)[0] ?? samples.at(-1);
  const round = (s) => s && { done: s.done, heapMB: +s.heapMB.toFixed(1), rssMB: +s.rssMB.toFixed(1), redisMB: +s.redisMB.toFixed(1) };
  return {
    requests: MILLION,
    failed,
    seconds: Math.round(seconds),
    perSecond: Math.round(MILLION / seconds),
    at10: round(at(0.1)),
    at50: round(at(0.5)),
    at90: round(at(0.9)),
    maxHeapMB: +Math.max(...samples.map((s) => s.heapMB)).toFixed(1),
    maxRedisMB: +Math.max(...samples.map((s) => s.redisMB).filter((mb) => !Number.isNaN(mb))).toFixed(1),
  };
}

// BENCH_ONLY=throughput|recovery|memory runs one part.
const only = process.env.BENCH_ONLY;
const wanted = (part) => only === undefined || only === part;
try {
  const results = { throughput: [] };
  const perRun = Math.min(MILLION, 40_000);
  for (const w of wanted('throughput') ? [1, 2, 4] : []) {
    results.throughput.push(await throughput(w, perRun));
    console.log(JSON.stringify(results.throughput.at(-1)));
  }
  if (wanted('recovery')) {
    results.recovery = await recovery();
    console.log(JSON.stringify(results.recovery));
  }
  if (wanted('memory')) {
    results.million = await million();
    console.log(JSON.stringify(results.million));
  }
} finally {
  await redis.stop();
  await rm(root, { recursive: true, force: true });
}
