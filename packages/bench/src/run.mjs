// npm run bench: every contender on the same nginx, sshd and files, one at a time.
// See ../README.md for what is measured and how to read the output.
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanUp, cleanUpOnSignals, onCleanup } from './cleanup.mjs';
import { writeCorpus } from './corpus.mjs';
import { conformanceFixtures, sftpTesting } from './fixtures.mjs';
import { prepareInputs } from './inputs.mjs';
import { describeMachine, findTmpfs } from './machine.mjs';
import { startNginx } from './nginx.mjs';
import { parseOptions, usage } from './options.mjs';
import { makePlan } from './plan.mjs';
import { printReport, writeReport } from './report.mjs';
import { pairedRatio, summarise } from './stats.mjs';
import { evaluateTargets } from './targets.mjs';
import { findProgram, toolVersions } from './tools.mjs';
import { runWorkload } from './workload-runner.mjs';
import { CONCURRENCY, fileSets } from './sizes.mjs';

// nginx paces /paced/ to this many bytes/s, so a cancel 1 s in always meets a transfer in flight.
const PACED_RATE = '100m';

const log = (line = '') => console.log(line);

const options = parseOptionsOrExit();
cleanUpOnSignals(log);
try {
  await main();
} catch (error) {
  if (error.code !== 'ERR_BENCH_USAGE') throw error;
  console.error(`${error.message}\n\n${usage}`);
  process.exitCode = 2;
} finally {
  await cleanUp(log);
}

function parseOptionsOrExit() {
  try {
    const parsed = parseOptions();
    if (!parsed.help) return parsed;
    log(usage);
    process.exit(0);
  } catch (error) {
    if (!error.code?.startsWith('ERR_PARSE_ARGS')) throw error;
    console.error(`${error.message}\n\n${usage}`);
    process.exit(2);
  }
}

async function main() {
  const started = Date.now();
  const mode = options.only.size > 0 ? 'partial' : options.quick ? 'quick' : 'full';
  const sets = fileSets(options);
  const tmpfsRoot = findTmpfs();
  const plan = makePlan(options, sets, { tmpfsRoot, sshdUnavailable: await sshdUnavailable() });
  printPlan(plan, mode);

  const work = await mkdtemp(join(tmpdir(), 'nectar-bench-'));
  onCleanup(() => rm(work, { recursive: true, force: true }));
  // nginx's workers run as `nobody` when we are root: they must be able to reach the corpus.
  await chmod(work, 0o755);
  const dirs = { corpus: join(work, 'corpus'), lists: join(work, 'lists'), scratch: join(work, 'scratch'), tmp: join(work, 'dest'), tmpfs: null };
  await Promise.all([dirs.lists, dirs.scratch, dirs.tmp].map((d) => mkdir(d, { recursive: true })));
  if (tmpfsRoot !== null) {
    dirs.tmpfs = await mkdtemp(join(tmpfsRoot, 'nectar-bench-'));
    onCleanup(() => rm(dirs.tmpfs, { recursive: true, force: true }));
  }

  await timed('writing the corpus', () => writeCorpus(dirs.corpus, sets, neededSets(plan)));
  const servers = await startServers(plan, dirs);

  const workloads = [];
  for (const { workload, contenders } of plan.workloads) {
    log(`\n${workload.label} [${workload.id}]`);
    const inputs = await prepareInputs(workload, { listsDir: dirs.lists, corpusRoot: dirs.corpus, servers });
    const destRoot = workload.target === 'tmpfs' ? dirs.tmpfs : dirs.tmp;
    const results = await runWorkload(workload, contenders, { inputs, destRoot, scratchDir: dirs.scratch, log });
    workloads.push(workloadFigures(workload, results));
  }

  const probeResults = {};
  for (const probe of plan.probes) {
    log(`\nprobe ${probe.id}`);
    const env = { quick: options.quick, sets, corpusRoot: dirs.corpus, servers, tmpfsRoot: dirs.tmpfs, scratchDir: dirs.scratch, selected: plan.selected, log };
    probeResults[probe.id] = await probe.run(env);
  }

  const results = {
    generatedAt: new Date().toISOString(),
    mode,
    durationSeconds: Math.round((Date.now() - started) / 1000),
    concurrency: CONCURRENCY,
    machine: describeMachine(tmpfsRoot),
    tools: toolVersions(),
    workloads,
    probes: probeResults,
    skipped: plan.skipped,
  };
  results.targets = evaluateTargets(results);
  printReport(results, log);
  const paths = await writeReport(results);
  log(`\nwrote ${[paths.json, paths.svg, paths.readme].filter(Boolean).join(', ')} in ${results.durationSeconds} s`);
}

async function startServers(plan, dirs) {
  const transports = new Set(plan.workloads.map((p) => p.workload.transport));
  const servers = { nginx: null, tls: null, sftp: null };
  if (transports.has('http') || transports.has('https') || plan.probes.length > 0) {
    const { tlsMaterial, disposeTlsMaterial } = await conformanceFixtures();
    servers.tls = await tlsMaterial();
    onCleanup(disposeTlsMaterial);
    const prefix = join(dirs.scratch, 'nginx');
    servers.nginx = await startNginx({ program: findProgram('nginx'), prefix, root: dirs.corpus, tls: servers.tls, pacedRate: PACED_RATE });
    onCleanup(servers.nginx.stop);
    log(`nginx on 127.0.0.1:${servers.nginx.ports.http} (HTTP) and :${servers.nginx.ports.https} (HTTPS)`);
  }
  if (transports.has('sftp')) {
    const { sftpFixture } = await sftpTesting();
    servers.sftp = sftpFixture();
    await servers.sftp.start();
    onCleanup(() => servers.sftp.stop());
    log(`sshd on 127.0.0.1:${servers.sftp.port}`);
  }
  return servers;
}

/** Why the SFTP workloads cannot run: the fixture's own check, or our package not built. */
async function sshdUnavailable() {
  try {
    const { sshdSkipReason } = await sftpTesting();
    return sshdSkipReason();
  } catch (error) {
    return `@nectar/sftp/testing cannot be loaded (npm run build?): ${error.message.split('\n')[0]}`;
  }
}

function neededSets(plan) {
  return new Set([...plan.workloads.map((p) => p.workload.set.name), ...plan.probes.flatMap((p) => p.needs)]);
}

function workloadFigures(workload, results) {
  const reference = results.find((r) => r.contender.id === workload.reference);
  return {
    id: workload.id,
    label: workload.label,
    set: workload.set.name,
    transport: workload.transport,
    variant: workload.variant,
    target: workload.target,
    files: workload.files,
    bytes: workload.bytes,
    reference: workload.reference,
    repetitions: workload.repetitions,
    contenders: results.map(({ contender, runs, error }) => ({
      id: contender.id,
      name: contender.name,
      family: contender.family,
      summary: summarise(workload, runs, { downloads: contender.downloads !== false }),
      ratio: reference === undefined ? null : pairedRatio(runs, reference.runs),
      error,
      runs: runs.map(({ stdout, ...run }) => run),
    })),
  };
}

function printPlan(plan, mode) {
  log(`nectar bench (${mode}): ${plan.workloads.length} workloads, probes: ${plan.probes.map((p) => p.id).join(', ') || 'none'}; concurrency ${CONCURRENCY}`);
  for (const { workload, contenders } of plan.workloads) log(`  ${workload.id.padEnd(21)} ${contenders.map((c) => c.id).join(', ')}`);
  for (const s of plan.skipped) log(`  skipped ${s.what}: ${s.reason}`);
}

async function timed(what, action) {
  const t0 = performance.now();
  await action();
  log(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
