const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 → "1.5 KiB": 1024-based, like the suffixes --limit-rate accepts. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** 0.42 → "0.4 s", 75 → "1m15s", 3725 → "1h02m". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole} s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

/**
 * The marks that reorder text (ALM, LRM, RLM, bidi embeddings and overrides, isolates), as a
 * regex character range: `invoice\u202Etxt.exe` shows as `invoiceexe.txt`.
 */
export const reorderingMarks = '\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069';

const unprintable = new RegExp(`[\u0000-\u0008\u000b-\u001f\u007f-\u009f${reorderingMarks}]`, 'g');

/**
 * Control characters (C0 but tab and newline, DEL, C1) and the marks that reorder text as
 * `\u001b`-style escapes: a URL list or a server can put an escape sequence in a name, and a
 * printed line must not rewrite the terminal nor show another name.
 */
export function printable(text: string): string {
  return text.replace(unprintable, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
