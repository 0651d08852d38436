import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultRegistry, type DownloaderConfigInput } from '@nectar/core';
import type { CredentialStore } from './credentials.js';
import type { StorageMode } from './job-runner.js';
import { type QueueWorker, runWorker, type WorkerOptions } from './worker.js';

export const workerUsage = `Usage: nectar-worker [options]

Runs download jobs from a Nectar farm on BullMQ/Redis until SIGTERM or SIGINT.

  --redis URL              Redis to use (default $NECTAR_REDIS or redis://127.0.0.1:6379)
  --cluster NAME           farm name shared with the producers (default nectar)
  --prefix PREFIX          BullMQ key prefix (default bull)
  --id ID                  worker id shown in reports (default host-pid-random)
  --concurrency N          requests at once on this worker (default 8)
  --max-speed BYTES        bytes/s for this worker
  --config FILE            JSON DownloaderConfig for this worker (TLS, proxy, timeouts…)
  --credentials FILE       JSON { id: { username, password } | { headers } } named by jobs
  --storage shared|local   where destinations live (default shared)
  --root DIR               with --storage local: absolute destinations go under DIR
  --sweep DIR              sweep DIR for stage files of dead workers at start (repeatable)
  --sweep-min-age MS       never sweep files younger than this (default 60000)
  --lock-duration MS       job lock, renewed at half (default 120000)
  --stalled-interval MS    how often expired locks are looked for (default 30000)
  --max-stalled N          redeliveries after worker deaths before a job fails (default 10)
  --progress-interval MS   minimum time between two progress updates of a job (default 500)
  --discovery-interval MS  how often new host queues are looked for (default 1000)
  --heartbeat-interval MS  liveness period (default 5000)
  --no-fsync               skip fsync before rename (benchmarks; a crash may leave torn files)
  --import MODULE          a backend package to register (repeatable; @nectar/* load by themselves)
`;

const options = {
  redis: { type: 'string' },
  cluster: { type: 'string' },
  prefix: { type: 'string' },
  id: { type: 'string' },
  concurrency: { type: 'string' },
  'max-speed': { type: 'string' },
  config: { type: 'string' },
  credentials: { type: 'string' },
  storage: { type: 'string' },
  root: { type: 'string' },
  sweep: { type: 'string', multiple: true },
  'sweep-min-age': { type: 'string' },
  'lock-duration': { type: 'string' },
  'stalled-interval': { type: 'string' },
  'max-stalled': { type: 'string' },
  'progress-interval': { type: 'string' },
  'discovery-interval': { type: 'string' },
  'heartbeat-interval': { type: 'string' },
  import: { type: 'string', multiple: true },
  'no-fsync': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses `nectar-worker` arguments into worker options (exported for `nectar worker`). */
export async function workerOptionsFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<WorkerOptions | null> {
  const { values } = parseArgs({ args: [...argv], options, strict: true });
  if (values.help === true) return null;
  const config: DownloaderConfigInput = values.config === undefined ? {} : JSON.parse(await readFile(values.config, 'utf8'));
  const maxSpeed = number(values['max-speed'], '--max-speed');
  const credentials: CredentialStore = values.credentials === undefined ? {} : JSON.parse(await readFile(values.credentials, 'utf8'));
  for (const module of values.import ?? []) {
    const loaded = (await import(module)) as { register?: (r: typeof defaultRegistry) => void };
    if (typeof loaded.register !== 'function') throw new Error(`--import ${module}: it has no register(registry) export`);
    loaded.register(defaultRegistry);
  }
  return definedOnly({
    redis: values.redis ?? env.NECTAR_REDIS ?? 'redis://127.0.0.1:6379',
    cluster: values.cluster,
    prefix: values.prefix,
    id: values.id,
    concurrency: number(values.concurrency, '--concurrency'),
    config: maxSpeed === undefined ? config : { ...config, maxSpeed },
    credentials,
    storage: storage(values.storage, values.root),
    sweepRoots: values.sweep,
    fsync: values['no-fsync'] === true ? false : undefined,
    sweepMinAge: number(values['sweep-min-age'], '--sweep-min-age'),
    lockDuration: number(values['lock-duration'], '--lock-duration'),
    stalledInterval: number(values['stalled-interval'], '--stalled-interval'),
    maxStalledCount: number(values['max-stalled'], '--max-stalled'),
    progressInterval: number(values['progress-interval'], '--progress-interval'),
    discoveryInterval: number(values['discovery-interval'], '--discovery-interval'),
    heartbeatInterval: number(values['heartbeat-interval'], '--heartbeat-interval'),
  });
}

/** Runs a worker from command-line arguments; prints one JSON line when ready. */
export async function workerCli(argv: readonly string[]): Promise<QueueWorker | null> {
  const parsed = await workerOptionsFromArgs(argv);
  if (parsed === null) {
    process.stdout.write(workerUsage);
    return null;
  }
  const worker = await runWorker(parsed);
  process.stdout.write(`${JSON.stringify({ event: 'ready', id: worker.id, swept: worker.swept })}\n`);
  let stopping = false;
  const stop = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void worker.close().then(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return worker;
}

function number(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got ${JSON.stringify(value)}`);
  return n;
}

function storage(mode: string | undefined, root: string | undefined): StorageMode {
  if (mode === undefined || mode === 'shared') return { mode: 'shared' };
  if (mode === 'local') return root === undefined ? { mode: 'local' } : { mode: 'local', root };
  throw new Error(`--storage must be shared or local, got ${JSON.stringify(mode)}`);
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
