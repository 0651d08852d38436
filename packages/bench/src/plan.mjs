// What this run will do: which workloads, contenders and probes, and what is skipped and why.
import { backendUnavailable } from './backends.mjs';
import { contenders, contendersFor } from './contenders/index.mjs';
import { gnuTime } from './measure.mjs';
import { probes } from './probe-runner.mjs';
import { missingProgramReason } from './tools.mjs';
import { allWorkloads } from './workloads.mjs';

/**
 * `{ workloads: [{ workload, contenders }], probes, skipped, selected(contender) }`.
 * `environment` says what the machine offers: `{ tmpfsRoot, sshdUnavailable }`.
 */
export function makePlan(options, sets, environment) {
  const workloads = allWorkloads(sets, options);
  checkNames(options.only, workloads);
  const skipped = [];
  const skipOnce = (what, reason) => skipped.some((s) => s.what === what) || skipped.push({ what, reason });
  if (gnuTime === null) skipOnce('peak RSS and CPU figures', missingProgramReason(['/usr/bin/time']) ?? 'GNU time not found');

  const namedContenders = contenders.filter((c) => options.only.has(c.id));
  // An opt-in contender runs only when named; the others also when no contender is named.
  const selected = (contender) => namedContenders.includes(contender) || (!contender.optIn && namedContenders.length === 0);
  const planned = [];
  const ids = new Set(workloads.map((w) => w.id));
  for (const workload of workloads.filter((w) => workloadSelected(w, options.only, namedContenders, ids))) {
    const reason = workloadUnavailable(workload, environment);
    if (reason !== null) {
      skipOnce(`workload ${workload.id}`, reason);
      continue;
    }
    const runnable = contendersFor(workload).filter((c) => selected(c) || c.id === workload.reference);
    for (const c of runnable) if (c.unavailable() !== null) skipOnce(`contender ${c.id}`, c.unavailable());
    planned.push({ workload, contenders: runnable.filter((c) => c.unavailable() === null) });
  }
  return { workloads: planned, probes: plannedProbes(options.only, environment, skipOnce), skipped, selected };
}

/** Every name --only accepts, for the error message and the README. */
export function selectableNames(workloads) {
  return { workloads: workloads.map((w) => w.id), contenders: contenders.map((c) => c.id), probes: [...probes.map((p) => p.id), 'probes'] };
}

function checkNames(only, workloads) {
  const names = selectableNames(workloads);
  const unknown = [...only].filter((n) => !names.contenders.includes(n) && !names.probes.includes(n) && !workloads.some((w) => matchesWorkload(w, n)));
  if (unknown.length > 0) {
    throw usageError(`--only: unknown ${unknown.join(', ')}. Workloads (or parts of their names, e.g. small, https, tmpfs): ${names.workloads.join(', ')}; contenders: ${names.contenders.join(', ')}; probes: ${names.probes.join(', ')}`);
  }
}

function usageError(message) {
  return Object.assign(new Error(message), { code: 'ERR_BENCH_USAGE' });
}

/** A workload's exact id selects that workload alone (small-https-tmpfs, not small-https-h2-tmpfs too). */
function workloadSelected(workload, only, namedContenders, ids) {
  if (only.size === 0) return true;
  if ([...only].some((name) => (ids.has(name) ? name === workload.id : matchesWorkload(workload, name)))) return true;
  // A named contender alone selects every workload it can run.
  const namesAWorkload = [...only].some((name) => !contenders.some((c) => c.id === name) && !probes.some((p) => p.id === name) && name !== 'probes');
  return !namesAWorkload && namedContenders.some((c) => contendersFor(workload).includes(c));
}

/** `small-https` matches small-https-tmp and small-https-tmpfs: every part of the name is in the id. */
function matchesWorkload(workload, name) {
  const parts = workload.id.split('-');
  return name.split('-').every((part) => parts.includes(part));
}

function workloadUnavailable(workload, { tmpfsRoot, sshdUnavailable }) {
  if (workload.target === 'tmpfs' && tmpfsRoot === null) return 'no tmpfs found (/dev/shm); set NECTAR_BENCH_TMPFS to a tmpfs folder';
  if (workload.transport === 'http' || workload.transport === 'https') return missingProgramReason(['nginx']);
  if (workload.transport === 'sftp') return sshdUnavailable;
  return null;
}

function plannedProbes(only, { tmpfsRoot }, skipOnce) {
  const wanted = probes.filter((p) => only.size === 0 || only.has(p.id) || only.has('probes'));
  const shared = missingProgramReason(['nginx']) ?? backendUnavailable('undici') ?? (tmpfsRoot === null ? 'no tmpfs found for the destinations' : null);
  const reasonFor = (probe) => shared ?? probe.unavailable?.() ?? null;
  for (const p of wanted) if (reasonFor(p) !== null) skipOnce(`probe ${p.id}`, reasonFor(p));
  return wanted.filter((p) => reasonFor(p) === null);
}

