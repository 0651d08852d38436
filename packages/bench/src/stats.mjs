// From the runs of a workload to the figures of the table.
import { MiB } from './sizes.mjs';

export function median(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/**
 * files/s and MiB/s from the median wall time (none for a contender that downloads nothing),
 * the worst peak RSS, the median CPU seconds. Failed runs do not count; with none left the
 * figures are null.
 */
export function summarise(workload, runs, { downloads = true } = {}) {
  const ok = runs.filter((r) => r.ok);
  const wall = median(ok.map((r) => r.wallSeconds));
  const rss = ok.map((r) => r.peakRssKiB).filter((v) => v !== null);
  const cpu = ok.map((r) => r.cpuSeconds).filter((v) => v !== null);
  return {
    runs: ok.length,
    wallSeconds: wall,
    filesPerSecond: wall === null || !downloads ? null : workload.files / wall,
    mibPerSecond: wall === null || !downloads ? null : workload.bytes / MiB / wall,
    peakRssMiB: rss.length === 0 ? null : Math.max(...rss) / 1024,
    cpuSeconds: median(cpu),
  };
}

/**
 * How many times faster `runs` were than `baseline`, pair by pair: the runs of one round ran
 * back to back, so each pair saw the same machine; the median of the pairs' ratios is reported.
 */
export function pairedRatio(runs, baseline) {
  const ratios = [];
  for (let i = 0; i < Math.min(runs.length, baseline.length); i++) {
    if (runs[i].ok && baseline[i].ok) ratios.push(baseline[i].wallSeconds / runs[i].wallSeconds);
  }
  return median(ratios);
}
