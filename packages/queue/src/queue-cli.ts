import { parseArgs } from 'node:util';
import { parseCount, parseRate, UsageError } from './cli-values.js';
import { type FarmHostLimits, warnDeprecated } from './host-limits.js';
import { QueueAdmin } from './queue-admin.js';
import type { RunStatus } from './run-status.js';

export const queueUsage = `Usage: nectar queue <command> [options]

Watches and steers a Nectar farm on BullMQ/Redis, from any machine that reaches its Redis.

Commands:
  status RUN                 a run's state, counts and failed items (RUN from report.run)
  runs                       the most recent runs
  hosts                      every host queue: paused, waiting, active, completed, failed
  pause [HOST]               workers stop taking jobs of HOST (host[:port]), or of every host
  resume [HOST]              undo pause
  drain [HOST]               remove the waiting jobs of HOST, or of every host; the runs
                             they belonged to fail what they had left there (not re-added)
  limits                     list host limits
  limits set HOST [--max-per-host N] [--host-rate N/s]
                             change a host's limits now, on every worker; they win
                             over producers' limits until cleared
  limits clear HOST          remove a host's limits (producers' apply again as they register)
  dashboard [--port P]       serve the bull-board dashboard on 127.0.0.1 (default port 3000)

Options:
  --redis URL                Redis (default $NECTAR_REDIS or redis://127.0.0.1:6379)
  --cluster NAME             farm name (default nectar)
  --prefix PREFIX            BullMQ key prefix (default bull)
      --max-per-host N       with limits set: transfers to the host at once, farm-wide
                             (also --parallel-max-host; the old -j/--max-concurrent is deprecated)
      --host-rate N[/s|/m]   with limits set: requests per second (or minute) to the host,
                             farm-wide, retries included (the old --rate is deprecated)
      --port P               with dashboard: the port on 127.0.0.1
      --json                 print JSON
  -h, --help                 this text
`;

const options = {
  redis: { type: 'string' },
  cluster: { type: 'string' },
  prefix: { type: 'string' },
  'max-per-host': { type: 'string' },
  'parallel-max-host': { type: 'string' },
  'host-rate': { type: 'string' },
  'limit-rate-per-host': { type: 'string' },
  // Deprecated names of --max-per-host and --host-rate, kept working with a warning.
  'max-concurrent': { type: 'string', short: 'j' },
  rate: { type: 'string' },
  port: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true; strict: true }>>['values'];

/** What a command printed and the exit status it asks for (0 ok, 1 not found or failed items, 2 usage). */
export interface QueueCliResult {
  status: number;
}

/**
 * `nectar queue <command>`: prints to `out` (errors in the command line to `err`) and returns
 * an exit status (2 for a usage error); never calls process.exit, so `nectar` (packages/cli)
 * and tests run it in-process. Errors from Redis are thrown.
 */
export async function queueCli(
  argv: readonly string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
  env: NodeJS.ProcessEnv = process.env,
): Promise<QueueCliResult> {
  try {
    return await command(argv, out, env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`nectar queue: ${error.message}`);
    return { status: 2 };
  }
}

async function command(argv: readonly string[], out: (line: string) => void, env: NodeJS.ProcessEnv): Promise<QueueCliResult> {
  const { values, positionals } = parse(argv);
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined || command === 'help') {
    out(queueUsage.trimEnd());
    return { status: command === undefined && values.help !== true ? 2 : 0 };
  }
  if (command === 'dashboard') {
    const { serveDashboard } = await import('./dashboard.js');
    const dashboard = await serveDashboard({ ...connection(values, env), port: values.port === undefined ? 3000 : parseCount(values.port, '--port', 0) });
    out(values.json === true ? JSON.stringify({ event: 'listening', url: dashboard.url }) : `nectar queue dashboard: ${dashboard.url}`);
    const stop = () => void dashboard.close();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await dashboard.closed;
    return { status: 0 };
  }
  const admin = new QueueAdmin(connection(values, env));
  try {
    return await run(admin, command, rest, values, out);
  } finally {
    await admin.close();
  }
}

async function run(admin: QueueAdmin, command: string, args: string[], values: Values, out: (line: string) => void): Promise<QueueCliResult> {
  const json = values.json === true;
  const print = (value: unknown, text: () => string) => out(json ? JSON.stringify(value) : text());
  switch (command) {
    case 'status': {
      const run = one(args, 'status RUN');
      const status = await admin.runStatus(run);
      if (status === null) {
        print({ run, found: false }, () => `run ${run}: not found (unknown, or expired after 7 days)`);
        return { status: 1 };
      }
      print(status, () => statusText(status));
      return { status: status.failed > 0 ? 1 : 0 };
    }
    case 'runs': {
      const runs = await admin.runs();
      print(runs, () => runs.join('\n'));
      return { status: 0 };
    }
    case 'hosts': {
      const hosts = await admin.hosts();
      print(hosts, () => hosts.map((h) => `${h.queue}${h.paused ? ' (paused)' : ''}: ${h.waiting} waiting, ${h.active} active, ${h.completed} completed, ${h.failed} failed`).join('\n'));
      return { status: 0 };
    }
    case 'pause':
    case 'resume':
    case 'drain': {
      const host = optionalOne(args, `${command} [HOST]`);
      const queues = await admin[command](host);
      print({ [command]: queues }, () => `${command}: ${queues.length === 0 ? 'no host queues' : queues.join(', ')}`);
      return { status: 0 };
    }
    case 'limits':
      return limits(admin, args, values, print);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}; see nectar queue --help`);
  }
}

async function limits(admin: QueueAdmin, args: string[], values: Values, print: (value: unknown, text: () => string) => void): Promise<QueueCliResult> {
  const [action, host, ...extra] = args;
  if (action === undefined || action === 'list') {
    const all = await admin.listLimits();
    const byOperator = new Set(await admin.operatorLimitHosts());
    const line = (h: string, l: FarmHostLimits) => `${h}: ${describeLimits(l)}${byOperator.has(h) ? ' (set by an operator)' : ''}`;
    print(all, () => Object.entries(all).map(([h, l]) => line(h, l)).join('\n') || 'no host limits');
    return { status: 0 };
  }
  if (host === undefined || extra.length > 0) throw new UsageError(`limits ${action} takes one HOST`);
  if (action === 'clear') {
    await admin.clearLimits(host);
    print({ host, cleared: true }, () => `${host}: limits cleared`);
    return { status: 0 };
  }
  if (action !== 'set') throw new UsageError(`limits ${JSON.stringify(action)}: use limits, limits set HOST or limits clear HOST`);
  const wanted = limitFlags(values);
  if (Object.keys(wanted).length === 0) throw new UsageError('limits set HOST needs --max-per-host N and/or --host-rate N/s');
  await admin.setLimits(host, wanted);
  const now = (await admin.listLimits())[host] ?? {};
  print({ host, limits: now }, () => `${host}: ${describeLimits(now)}`);
  return { status: 0 };
}

/**
 * `limits set`'s flags, named as `nectar get` names the same limits. The old -j/--max-concurrent
 * and --rate still work, with a deprecation warning; two names of one limit together are refused.
 */
function limitFlags(values: Values): FarmHostLimits {
  if (values['limit-rate-per-host'] !== undefined) {
    throw new UsageError(
      '--limit-rate-per-host: the farm holds no per-host byte limit; give it to each worker (nectar worker --limit-rate-per-host RATE), whose downloader applies it',
    );
  }
  const perHost = oneOf(values, ['max-per-host', 'parallel-max-host', 'max-concurrent']);
  const rate = oneOf(values, ['host-rate', 'rate']);
  if (perHost?.flag === 'max-concurrent') warnDeprecated('--max-concurrent', 'nectar queue limits set -j/--max-concurrent', '--max-per-host');
  if (rate?.flag === 'rate') warnDeprecated('--rate', 'nectar queue limits set --rate', '--host-rate');
  const wanted: FarmHostLimits = {};
  if (perHost !== undefined) wanted.maxPerHost = parseCount(perHost.value, `--${perHost.flag}`, 1);
  if (rate !== undefined) wanted.hostRate = parseRate(rate.value, `--${rate.flag}`);
  return wanted;
}

/** The one flag given among names of the same limit. */
function oneOf(values: Values, flags: readonly ('max-per-host' | 'parallel-max-host' | 'max-concurrent' | 'host-rate' | 'rate')[]): { flag: string; value: string } | undefined {
  const given = flags.filter((f) => values[f] !== undefined);
  if (given.length > 1) throw new UsageError(`${given.map((f) => `--${f}`).join(' and ')} are the same limit: give one (--${flags[0]})`);
  const flag = given[0];
  return flag === undefined ? undefined : { flag, value: values[flag] as string };
}

function statusText(s: RunStatus): string {
  const lines = [
    `run ${s.run}: ${s.state}`,
    `  enqueued ${s.enqueued}, succeeded ${s.succeeded}, failed ${s.failed}, canceled ${s.canceled}`,
    `  started ${s.startedAt ?? '?'}, last change ${s.updatedAt ?? '?'}`,
  ];
  for (const item of s.failedItems) lines.push(`  failed ${item.url} → ${item.destination}: ${item.code} ${item.message}`);
  return lines.join('\n');
}

function describeLimits(l: FarmHostLimits): string {
  const parts = [l.maxPerHost === undefined ? null : `${l.maxPerHost} at once`, l.hostRate === undefined ? null : `${Number(l.hostRate.toPrecision(4))}/s`];
  return parts.filter((p) => p !== null).join(', ') || 'none';
}

function connection(values: Values, env: NodeJS.ProcessEnv) {
  return {
    redis: values.redis ?? env.NECTAR_REDIS ?? 'redis://127.0.0.1:6379',
    ...(values.cluster === undefined ? {} : { cluster: values.cluster }),
    ...(values.prefix === undefined ? {} : { prefix: values.prefix }),
  };
}

function one(args: string[], usage: string): string {
  if (args.length !== 1 || args[0] === undefined) throw new UsageError(`usage: nectar queue ${usage}`);
  return args[0];
}

function optionalOne(args: string[], usage: string): string | undefined {
  if (args.length > 1) throw new UsageError(`usage: nectar queue ${usage}`);
  return args[0];
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}
