// Runs one workload: every contender once per round, rounds repeated, each run into a fresh folder.
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { measure } from './measure.mjs';
import { MiB } from './sizes.mjs';
import { checkDownloaded } from './verify.mjs';

/**
 * Rounds rather than "all runs of A, then all of B": a contender and the reference then run
 * minutes apart at most, and the paired ratios cancel out drift in the machine's load.
 * A contender that fails is not run again for this workload; its error is kept.
 */
export async function runWorkload(workload, contenders, { inputs, destRoot, scratchDir, log }) {
  const results = new Map(contenders.map((c) => [c.id, { contender: c, runs: [], error: null }]));
  const { repetitions, warmUp } = workload;
  const rounds = [...(warmUp ? ['warm-up'] : []), ...Array.from({ length: repetitions }, (_, i) => `run ${i + 1}/${repetitions}`)];
  for (const round of rounds) {
    for (const result of results.values()) {
      if (result.error !== null) continue;
      const run = await runOnce(workload, result.contender, { inputs, destRoot, scratchDir });
      log(`  ${round.padEnd(9)} ${result.contender.name.padEnd(32)} ${describeRun(workload, result.contender, run)}`);
      if (!run.ok) result.error = run.error;
      if (round !== 'warm-up') result.runs.push(run);
    }
  }
  return [...results.values()];
}

async function runOnce(workload, contender, { inputs, destRoot, scratchDir }) {
  const dest = await mkdtemp(join(destRoot, `nectar-bench-${contender.id}-`));
  try {
    const run = await measure(contender.command(workload, { ...inputs, dest }), scratchDir);
    // A floor such as `node -e 0` downloads nothing: only its exit status counts.
    if (!run.ok || contender.downloads === false) return run;
    const mismatch = await checkDownloaded(dest, workload);
    return mismatch === null ? run : { ...run, ok: false, error: mismatch };
  } finally {
    await rm(dest, { recursive: true, force: true });
  }
}

function describeRun(workload, contender, run) {
  if (!run.ok) return `FAILED: ${run.error.split('\n')[0]}`;
  const rate = contender.downloads === false ? '' : `  ${(workload.files / run.wallSeconds).toFixed(0)} files/s  ${(workload.bytes / MiB / run.wallSeconds).toFixed(1)} MiB/s`;
  const rss = run.peakRssKiB === null ? '' : `  ${(run.peakRssKiB / 1024).toFixed(0)} MiB RSS`;
  return `${run.wallSeconds.toFixed(run.wallSeconds < 1 ? 3 : 2)} s${rate}${rss}`;
}
