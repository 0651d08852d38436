// `nectar get -i` over a 1,000,000-line list (issue #16: memory must stay flat however long the
// list). Every URL answers 404 at once from nginx's /gone/, so nothing is written and the run is
// all list reading, naming and bookkeeping, at about 2,000 URLs a second today. It stops at a
// deadline rather than at the millionth URL. Two figures say whether memory is flat: the peak
// against that of a one-line list (a list read whole shows up here at once) and the slope of RSS
// over URLs settled, one --json line each (memory kept per URL shows up here).
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { nectarBin } from './contenders/nectar-cli.mjs';
import { measure } from './measure.mjs';
import { sampleRun } from './rss-sampler.mjs';

export const LIST_LINES = 1_000_000;

/** 404 from the list, and SIGTERM at the deadline: the two ways the CLI may rightly end. */
const EXPECTED_EXITS = { 9: 'not found', 143: 'SIGTERM' };

export async function cliListMemory(env) {
  const seconds = env.quick ? 15 : 60;
  const base = `${env.servers.nginx.baseUrl('http')}/gone/`;
  const [oneLine, list] = [join(env.scratchDir, 'gone-1.urls'), join(env.scratchDir, 'gone.urls')];
  await writeList(oneLine, base, 1);
  await writeList(list, base, LIST_LINES);
  const dest = await mkdtemp(join(env.tmpfsRoot, 'nectar-bench-list-'));
  try {
    // Only its peak RSS counts: like every URL of the list, it exits 9 (not found).
    const baseline = await measure(getCommand(oneLine, dest), env.scratchDir);
    const run = await sampleRun(getCommand(list, dest), seconds);
    const result = summarise(run, baseline.peakRssKiB);
    env.log(`  cli-list ${result.ok ? describe(result) : `FAILED: ${result.error}`}`);
    return [result];
  } finally {
    await rm(dest, { recursive: true, force: true });
    await Promise.all([oneLine, list].map((path) => rm(path, { force: true })));
  }
}

function getCommand(list, dest) {
  return { program: process.execPath, args: [nectarBin(), 'get', '-i', list, '-d', dest, '--json', '-qq'] };
}

async function writeList(path, base, count) {
  const out = createWriteStream(path);
  const chunk = 10_000;
  for (let from = 0; from < count; from += chunk) {
    const lines = Array.from({ length: Math.min(chunk, count - from) }, (_, i) => `${base}${from + i}.bin\n`).join('');
    if (!out.write(lines)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

function summarise(run, baselineKiB) {
  const ok = run.code in EXPECTED_EXITS && run.lines > 0;
  return {
    lines: LIST_LINES,
    oneLinePeakRssMiB: baselineKiB === null ? null : baselineKiB / 1024,
    settled: run.lines,
    seconds: run.seconds,
    finished: !run.stoppedAtDeadline,
    peakRssMiB: run.peakRssKiB === null ? null : run.peakRssKiB / 1024,
    growthMiBPer100k: growth(run.samples),
    samples: run.samples,
    ok,
    error: ok ? null : `nectar get exited ${run.signal ?? run.code} after ${run.lines} URLs: ${run.stderr.trim().split('\n').at(-1) ?? ''}`,
  };
}

/**
 * MiB of RSS per 100,000 URLs settled: the least-squares slope over the samples after the first
 * quarter of the run (start-up and the first GC cycles are not growth).
 */
function growth(samples) {
  const last = samples.at(-1);
  const points = samples.filter((s) => s.seconds >= last?.seconds / 4 && s.lines > 0);
  if (points.length < 3) return null;
  const mean = (f) => points.reduce((sum, p) => sum + f(p), 0) / points.length;
  const [mx, my] = [mean((p) => p.lines), mean((p) => p.rssKiB)];
  const sxx = points.reduce((sum, p) => sum + (p.lines - mx) ** 2, 0);
  if (sxx === 0) return null;
  const slope = points.reduce((sum, p) => sum + (p.lines - mx) * (p.rssKiB - my), 0) / sxx;
  return (slope * 100_000) / 1024;
}

function describe(r) {
  const how = r.finished ? `all ${r.lines.toLocaleString('en')} URLs` : `${r.settled.toLocaleString('en')} of ${r.lines.toLocaleString('en')} URLs in ${r.seconds.toFixed(0)} s`;
  return `${how}: peak RSS ${r.peakRssMiB?.toFixed(0)} MiB (one-line list: ${r.oneLinePeakRssMiB?.toFixed(0) ?? '–'} MiB), ${r.growthMiBPer100k?.toFixed(1) ?? '–'} MiB per 100,000 URLs`;
}
