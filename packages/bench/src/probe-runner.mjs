// The measures beyond throughput: memory over a long stream() and over the CLI's long list,
// maxSpeed accuracy, cancel latency. Each probe is a child process so that its RSS is its own.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliListMemory } from './cli-list-probe.mjs';
import { stateStoreProbe } from './state-store-probe.mjs';
import { nectarAxios } from './contenders/axios.mjs';
import { cliUnavailable } from './contenders/nectar-cli.mjs';
import { undiciDefault, undiciInProcess, undiciThreaded } from './contenders/undici.mjs';
import { setFiles } from './corpus.mjs';
import { urlOf } from './inputs.mjs';
import { measure } from './measure.mjs';
import { median } from './stats.mjs';
import { CONCURRENCY, MiB } from './sizes.mjs';

const probeScript = (name) => fileURLToPath(new URL(`./probes/${name}.mjs`, import.meta.url));

/** The probes by name (what --only selects), each with the sets of the corpus it needs. */
export const probes = [
  { id: 'stream-memory', needs: ['small'], run: streamMemory },
  { id: 'cli-list', needs: [], run: cliListMemory, unavailable: cliUnavailable },
  { id: 'max-speed', needs: ['medium'], run: maxSpeed },
  { id: 'cancel', needs: ['large'], run: cancelLatency },
  { id: 'state-store', needs: [], run: stateStoreProbe },
];

// Which of our contenders each probe measures; the forced modes only when named with --only.
const MEMORY_CONTENDERS = [undiciDefault, undiciThreaded, undiciInProcess];
const HTTP_CONTENDERS = [undiciDefault, undiciThreaded, undiciInProcess, nectarAxios];

/** Memory over a generator of 100,000 requests (20,000 with --quick), peak RSS from outside. */
async function streamMemory(env) {
  const count = env.quick ? 20_000 : 100_000;
  const url = urlOf('http', setFiles(env.sets.small)[0], env.corpusRoot, env.servers);
  const results = [];
  for (const contender of usable(MEMORY_CONTENDERS, env)) {
    const fields = contender.fields(null, { concurrency: CONCURRENCY, trust: {} });
    const run = await inFolder(env.tmpfsRoot, (dest) =>
      measure(nodeCommand('stream-memory', { url, dest, count: String(count), config: JSON.stringify(fields) }), env.scratchDir),
    );
    const output = parseOutput(run);
    results.push({ contender: contender.id, name: contender.name, count, peakRssMiB: toMiB(run.peakRssKiB), ...output, ok: run.ok, error: run.error });
    env.log(`  stream-memory ${contender.name.padEnd(22)} ${describe(run, () => `${count} requests, peak RSS ${toMiB(run.peakRssKiB)?.toFixed(0)} MiB, ${output.filesPerSecond?.toFixed(0)} files/s`)}`);
  }
  return results;
}

/** maxSpeed at 1 and 10 MiB/s over 10 s (5 s with --quick): the achieved rate against the limit. */
async function maxSpeed(env) {
  const seconds = env.quick ? 5 : 10;
  const list = join(env.scratchDir, 'max-speed.urls');
  const urls = setFiles(env.sets.medium).map((name) => urlOf('http', name, env.corpusRoot, env.servers));
  await writeFile(list, `${urls.join('\n')}\n`);
  const results = [];
  for (const contender of usable(HTTP_CONTENDERS, env)) {
    for (const rate of [MiB, 10 * MiB]) {
      const fields = contender.fields(null, { concurrency: CONCURRENCY, trust: {} });
      const args = { backend: contender.backend, list, rate: String(rate), seconds: String(seconds), fileSize: String(env.sets.medium.size), config: JSON.stringify(fields) };
      const run = await inFolder(env.tmpfsRoot, (dest) => measure(nodeCommand('speed-limit', { ...args, dest }), env.scratchDir));
      const output = parseOutput(run);
      results.push({ contender: contender.id, name: contender.name, rate, seconds, ...output, ok: run.ok, error: run.error });
      env.log(`  max-speed ${contender.name.padEnd(22)} ${describe(run, () => `limit ${rate / MiB} MiB/s → ${(output.achieved / MiB).toFixed(3)} MiB/s (${pct(output.deviation)}) over ${output.elapsedSeconds.toFixed(1)} s`)}`);
    }
  }
  return results;
}

/** cancel() 1 s into a large download served at a paced rate, median of 5 (3 with --quick). */
async function cancelLatency(env) {
  const times = env.quick ? 3 : 5;
  const url = `${env.servers.nginx.baseUrl('http')}/paced/${setFiles(env.sets.large)[0]}`;
  const results = [];
  for (const contender of usable(HTTP_CONTENDERS, env)) {
    const fields = contender.fields(null, { concurrency: CONCURRENCY, trust: {} });
    const args = { backend: contender.backend, url, after: '1000', times: String(times), config: JSON.stringify(fields) };
    const run = await inFolder(env.tmpfsRoot, (dest) => measure(nodeCommand('cancel-latency', { ...args, dest }), env.scratchDir));
    const samples = parseOutput(run).samples ?? [];
    const medianMs = median(samples.map((s) => s.milliseconds));
    results.push({ contender: contender.id, name: contender.name, times, medianMs, samples, ok: run.ok, error: run.error });
    env.log(`  cancel ${contender.name.padEnd(22)} ${describe(run, () => `median ${medianMs.toFixed(1)} ms of ${samples.map((s) => s.milliseconds.toFixed(0)).join(', ')}`)}`);
  }
  return results;
}

function usable(contenders, env) {
  return contenders.filter((c) => env.selected(c) && c.unavailable() === null);
}

function nodeCommand(probe, args) {
  return { program: process.execPath, args: [probeScript(probe), ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, v])] };
}

async function inFolder(root, action) {
  const dest = await mkdtemp(join(root, 'nectar-bench-probe-'));
  try {
    return await action(dest);
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

/** The probe's last stdout line is its JSON result; a failed probe may have printed none. */
function parseOutput(run) {
  const last = run.stdout.trim().split('\n').at(-1);
  try {
    return JSON.parse(last);
  } catch {
    return {};
  }
}

function describe(run, success) {
  if (!run.ok) return `FAILED: ${run.error.split('\n')[0]}`;
  return success();
}

const toMiB = (kib) => (kib === null ? null : kib / 1024);
const pct = (fraction) => `${fraction >= 0 ? '+' : ''}${(fraction * 100).toFixed(1)}%`;
