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
  const outcomes = outcomeLine(tally);
  return [{ text: head }, ...(outcomes === undefined ? [] : [{ text: outcomes }]), ...listed];
}

/**
 * "  by outcome: 3 downloaded (1.2 MiB), 5 unchanged (40 KiB)…", once a run has anything besides
 * plain downloads (a resume, a 304, a reused copy): the line a re-sync is judged by.
 */
function outcomeLine(tally: Tally): string | undefined {
  const { downloaded, resumed, unchanged, reused } = tally.outcomes;
  if (resumed.files + unchanged.files + reused.files === 0) return undefined;
  const parts = [
    [downloaded, 'downloaded'],
    [resumed, 'resumed'],
    [unchanged, 'unchanged'],
    [reused, 'reused'],
  ] as const;
  const shown = parts.filter(([entry]) => entry.files > 0).map(([entry, name]) => `${entry.files} ${name} (${formatBytes(entry.bytes)})`);
  return `  by outcome: ${shown.join(', ')}`;
}
