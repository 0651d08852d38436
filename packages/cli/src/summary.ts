import { formatBytes, formatDuration, formatSpeed } from './format.js';
import type { Tally } from './tally.js';

/** The lines printed at the end of a run: counts, bytes, time, speed, then each failure's reason. */
export function summaryLines(tally: Tally, interrupted: boolean): string[] {
  const seconds = tally.elapsedSeconds;
  const counts = [`${tally.succeeded} succeeded`, `${tally.failed} failed`, `${tally.canceled} canceled`];
  if (tally.skipped > 0) counts.push(`${tally.skipped} skipped (exist)`);
  if (tally.unchanged > 0) counts.push(`${tally.unchanged} unchanged (not modified)`);
  const speed = seconds > 0 ? formatSpeed(tally.bytes / seconds) : formatSpeed(0);
  const head = `${interrupted ? 'interrupted: ' : ''}${counts.join(', ')}; ${formatBytes(tally.bytes)} in ${formatDuration(seconds)} (${speed})`;
  const listed = tally.failures.map((f) => `  failed ${f.url}: ${f.reason}`);
  if (tally.unlistedFailures > 0) listed.push(`  … and ${tally.unlistedFailures} more failures (each was printed when it happened)`);
  return [head, ...listed];
}
