import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultRegistry, type DownloaderConfigInput } from '@nectar/core';
import { parseCount, parseRate, parseSeconds, parseSize, UsageError } from './cli-values.js';
import type { CredentialStore } from './credentials.js';
import type { StorageMode } from './job-runner.js';
import { type QueueWorker, runWorker, type WorkerOptions } from './worker.js';

export const workerUsage = `Usage: nectar worker [options]      (also: nectar-worker [options])

Runs download jobs from a Nectar farm on BullMQ/Redis until SIGTERM or SIGINT. Sizes and
durations read as in \`nectar get\`: sizes 500K, 2M, 1G (1024-based), durations in seconds.

  --redis URL               Redis to use (default $NECTAR_REDIS or redis://127.0.0.1:6379)
  --cluster NAME            farm name shared with the producers (default nectar)
  --prefix PREFIX           BullMQ key prefix (default bull)
  --id ID                   worker id shown in reports (default host-pid-random)
  -j, --max-concurrent N    jobs at once on this worker (default 8)
      --limit-rate RATE     bytes/s for this worker's downloads together: 500K, 2M, 1G
      --max-per-host N      this worker's transfers at once per host (also --parallel-max-host)
      --host-rate N[/s|/m]  this worker's requests per second (or minute) per host, retries included
      --limit-rate-per-host RATE  bytes/s per host for this worker, all its transfers together
                            (the farm-wide per-host limits are set by producers and nectar queue limits)
  --config FILE             JSON DownloaderConfig for this worker (TLS, proxy, timeouts…)
  --credentials FILE        JSON { id: { username, password } | { headers, query } } named by jobs
  --storage shared|local    where destinations live (default shared)
  --root DIR                with --storage local: absolute destinations go under DIR
  --sweep DIR               sweep DIR for stage files of dead workers at start (repeatable)
  --sweep-min-age S         never sweep files younger than this (default 60)
  --lock-duration S         job lock, renewed at half; a dead worker's jobs return after it (default 20)
  --stalled-interval S      how often expired locks are looked for (default 5)
  --max-stalled N           redeliveries after worker deaths before a job fails (default 10)
  --progress-interval S     minimum time between two progress updates of a job (default 0.5)
  --discovery-interval S    how often new host queues and limits are read (default 1)
  --heartbeat-interval S    liveness period (default 5)
  --stored-count N          stored files remembered for dedup, farm-wide (default 100000)
  --metrics-port PORT       serve Prometheus metrics on 127.0.0.1:PORT/metrics
  --no-fsync                skip fsync before rename (benchmarks; a crash may leave torn files)
  --import MODULE           a backend package to register (repeatable; @nectar/* load by themselves)
`;

const options = {
  redis: { type: 'string' },
  cluster: { type: 'string' },
  prefix: { type: 'string' },
  id: { type: 'string' },
  'max-concurrent': { type: 'string', short: 'j' },
  'limit-rate': { type: 'string' },
  'max-per-host': { type: 'string' },
  'parallel-max-host': { type: 'string' },
  'host-rate': { type: 'string' },
  'limit-rate-per-host': { type: 'string' },
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
  'stored-count': { type: 'string' },
  'metrics-port': { type: 'string' },
  import: { type: 'string', multiple: true },
  'no-fsync': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses `nectar worker` arguments into worker options (exported for `nectar worker`). */
export async function workerOptionsFromArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<WorkerOptions | null> {
  const { values } = parse(argv);
  if (values.help === true) return null;
  const config: DownloaderConfigInput = values.config === undefined ? {} : JSON.parse(await readFile(values.config, 'utf8'));
  const maxSpeed = optional(values['limit-rate'], '--limit-rate', parseSize);
  const local = localHostLimits(values);
  const credentials: CredentialStore = values.credentials === undefined ? {} : JSON.parse(await readFile(values.credentials, 'utf8'));
  for (const module of values.import ?? []) {
    const loaded = (await import(module)) as { register?: (r: typeof defaultRegistry) => void };
    if (typeof loaded.register !== 'function') throw new UsageError(`--import ${module}: it has no register(registry) export`);
    loaded.register(defaultRegistry);
  }
  const seconds = (flag: keyof typeof options) => optional(values[flag] as string | undefined, `--${flag}`, parseSeconds);
  const count = (flag: keyof typeof options, min: number) => optional(values[flag] as string | undefined, `--${flag}`, (t, o) => parseCount(t, o, min));
  return definedOnly({
    redis: values.redis ?? env.NECTAR_REDIS ?? 'redis://127.0.0.1:6379',
    cluster: values.cluster,
    prefix: values.prefix,
    id: values.id,
    concurrency: count('max-concurrent', 1),
    config: { ...config, ...definedOnly({ maxSpeed, ...local }) },
    credentials,
    storage: storage(values.storage, values.root),
    sweepRoots: values.sweep,
    fsync: values['no-fsync'] === true ? false : undefined,
    sweepMinAge: seconds('sweep-min-age'),
    lockDuration: seconds('lock-duration'),
    stalledInterval: seconds('stalled-interval'),
    maxStalledCount: count('max-stalled', 0),
    progressInterval: seconds('progress-interval'),
    discoveryInterval: seconds('discovery-interval'),
    heartbeatInterval: seconds('heartbeat-interval'),
    storedCount: count('stored-count', 0),
    metricsPort: count('metrics-port', 0),
  });
}

/**
 * Core's per-origin limits for this worker's own downloader, named as in `nectar get`; they
 * apply on this worker alone, beside (never instead of) the farm-wide ones in Redis.
 */
function localHostLimits(values: ReturnType<typeof parse>['values']): Pick<DownloaderConfigInput, 'maxPerHost' | 'hostRate' | 'maxSpeedPerHost'> {
  if (values['max-per-host'] !== undefined && values['parallel-max-host'] !== undefined) {
    throw new UsageError('--max-per-host and --parallel-max-host are the same option: give one');
  }
  const perHost = values['max-per-host'] === undefined ? optional(values['parallel-max-host'], '--parallel-max-host', (t, o) => parseCount(t, o, 1)) : parseCount(values['max-per-host'], '--max-per-host', 1);
  return definedOnly({
    maxPerHost: perHost,
    hostRate: optional(values['host-rate'], '--host-rate', parseRate),
    maxSpeedPerHost: optional(values['limit-rate-per-host'], '--limit-rate-per-host', parseSize),
  });
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options, strict: true });
  } catch (error) {
    // parseArgs' messages name the option and are fit for users.
    throw new UsageError((error as Error).message);
  }
}

function optional<T>(value: string | undefined, flag: string, read: (text: string, flag: string) => T): T | undefined {
  return value === undefined ? undefined : read(value, flag);
}

/** Runs a worker from command-line arguments; prints one JSON line when ready. */
export async function workerCli(argv: readonly string[]): Promise<QueueWorker | null> {
  const parsed = await workerOptionsFromArgs(argv);
  if (parsed === null) {
    process.stdout.write(workerUsage);
    return null;
  }
  const worker = await runWorker(parsed);
  process.stdout.write(`${JSON.stringify({ event: 'ready', id: worker.id, swept: worker.swept, metricsPort: worker.metricsPort })}\n`);
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

function storage(mode: string | undefined, root: string | undefined): StorageMode {
  if (mode === undefined || mode === 'shared') return { mode: 'shared' };
  if (mode === 'local') return root === undefined ? { mode: 'local' } : { mode: 'local', root };
  throw new UsageError(`--storage must be shared or local, got ${JSON.stringify(mode)}`);
}

function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
