/**
 * Command-line values read as `nectar get` reads them (packages/cli/src/config.ts): sizes are
 * 1024-based with K/M/G suffixes, durations are seconds (fractions allowed), counts are whole.
 */
const suffixes: Record<string, number> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 };

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** "500K" → 512000, "2M", "1.5G", "1000". */
export function parseSize(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?$/i.exec(text.trim());
  const value = match === null ? Number.NaN : Number(match[1]) * (suffixes[(match[2] ?? '').toUpperCase()] ?? Number.NaN);
  if (!(value >= 1)) throw new UsageError(`${option} must be a size like 500K, 2M or 1G, got ${JSON.stringify(text)}`);
  return Math.round(value);
}

/** Seconds, fractions allowed, to milliseconds. */
export function parseSeconds(text: string, option: string): number {
  const seconds = Number(text);
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`${option} must be a number of seconds, got ${JSON.stringify(text)}`);
  return Math.round(seconds * 1000);
}

export function parseCount(text: string, option: string, min: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`${option} must be a whole number of at least ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

const rateUnits: Record<string, number> = { '': 1, s: 1, m: 60, min: 60, h: 3600 };

/** Requests per second as `nectar get --host-rate` reads them: "5", "5/s", "30/m", "0.5/s", "100/h". */
export function parseRate(text: string, option: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(?:\/\s*(s|m|min|h))?$/i.exec(text.trim());
  const rate = match === null ? Number.NaN : Number(match[1]) / (rateUnits[(match[2] ?? '').toLowerCase()] ?? Number.NaN);
  if (!(rate >= 0.001)) throw new UsageError(`${option} must be requests per second or minute like 5/s or 30/m, got ${JSON.stringify(text)}`);
  return rate;
}
