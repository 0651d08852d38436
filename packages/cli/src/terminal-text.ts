import cliTruncate from 'cli-truncate';
import stringWidth from 'string-width';

/**
 * At most `columns` cells wide, by what the terminal draws (wide CJK characters count two):
 * a longer line would wrap, and the bars redrawn below it would then leave fragments behind.
 * `middle` keeps a log line's start (what happened) and end (how much, or why it failed).
 */
export function fitWidth(text: string, columns: number, position: 'end' | 'middle' = 'end'): string {
  return cliTruncate(text, Math.max(1, columns), { position });
}

/** Exactly `width` cells: padded, or cut at its start (a file name's end, where its extension is, stays). */
export function fitLabel(text: string, width: number): string {
  const fitted = cliTruncate(text, width, { position: 'start' });
  return fitted + ' '.repeat(Math.max(0, width - stringWidth(fitted)));
}
