import type { RunningDownload } from './running.js';

export interface Layout {
  /** The downloads drawn, in the order they started (rows do not jump as speeds change). */
  readonly shown: readonly RunningDownload[];
  /** How many run without a row: the "+K more" line. */
  readonly hidden: number;
}

/**
 * The downloads that fit in `lines` rows: all of them, or the busiest `lines - 1` plus one
 * "+K more" row. More rows than the terminal has would scroll the total away and pile bar
 * fragments into the scrollback.
 */
export function busiest(running: readonly RunningDownload[], lines: number): Layout {
  if (running.length <= lines) return { shown: running, hidden: 0 };
  const room = Math.max(0, lines - 1);
  const picked = new Set([...running].sort((a, b) => b.meter.bytesPerSecond - a.meter.bytesPerSecond).slice(0, room));
  return { shown: running.filter((r) => picked.has(r)), hidden: running.length - picked.size };
}

/** Rows for downloads on a terminal of `rows` rows: one is the total, one stays for the cursor. */
export function downloadLines(rows: number | undefined): number {
  return Math.max(1, (rows !== undefined && rows > 0 ? rows : 24) - 2);
}
