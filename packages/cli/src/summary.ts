import { formatBytes, formatDuration, formatSpeed } from './format.js';
import type { Tally } from './tally.js';
import type { LineStyle } from './style.js';

export interface SummaryLine {
  readonly text: string;
  readonly style?: LineStyle;
}

/**
 * The lines printed at the end of a run: counts, bytes this run downloaded, time, speed, then each
 * failure's reason.
 */
export function summaryLines(tally: Tally, interrupted: boolean): SummaryLine[] {
  const seconds = tally.elapsedSeconds;
  const counts = [`${tally.succeeded} succeeded`, `${tally.failed} failed`, `${tally.canceled} canceled`];
  if (tally.skipped > 0) counts.push(`${tally.skipped} skipped (exist)`);
  if (tally.unchanged > 0) counts.push(`${tally.unchanged} unchanged (not modified)`);
  const speed = seconds > 0 ? formatSpeed(tally.moved / seconds) : formatSpeed(0);
  const head = `${interrupted ? 'interrupted: ' : ''}${counts.join(', ')}; ${formatBytes(tally.moved)} in ${formatDuration(seconds)} (${speed})`;
  const listed: SummaryLine[] = tally.failures.map((f) => ({ text: `  failed ${f.url}: ${f.reason}`, style: 'failure' }));
  if (tally.unlistedFailures > 0) listed.push({ text: `  … and ${tally.unlistedFailures} more failures (each was printed when it happened)` });
  return [{ text: head }, ...listed];
}
