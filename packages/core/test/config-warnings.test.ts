import { setImmediate as tick } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { NEAR_MISS_WARNING } from '../src/config.js';
import { DownloaderConfig } from '../src/index.js';

/** The warnings process.emitWarning delivers while `make` runs (they arrive on the next tick). */
async function warningsDuring(make: () => void): Promise<Array<{ code: string | undefined; message: string }>> {
  const seen: Array<Error & { code?: string }> = [];
  const listener = (warning: Error & { code?: string }) => void seen.push(warning);
  process.on('warning', listener);
  try {
    make();
    await tick();
    return seen.filter((w) => w.code === NEAR_MISS_WARNING).map((w) => ({ code: w.code, message: w.message }));
  } finally {
    process.off('warning', listener);
  }
}

/** What a JSON config file or an untyped caller hands over: any keys at all. */
const untyped = (fields: Record<string, unknown>) => new DownloaderConfig(fields as never);

describe('near-miss config keys', () => {
  it('warns with a code about a key one or two edits from a honoured field (not three), naming the field meant', async () => {
    const warnings = await warningsDuring(() => untyped({ maxConcurent: 4, retires: 2, bodytimeout: 5, maxSpeeeeed: 9 }));
    expect(warnings).toEqual([
      { code: NEAR_MISS_WARNING, message: 'config.maxConcurent is not a field of @nectar/core: did you mean config.maxConcurrent?' },
      { code: NEAR_MISS_WARNING, message: 'config.retires is not a field of @nectar/core: did you mean config.retries?' },
      { code: NEAR_MISS_WARNING, message: 'config.bodytimeout is not a field of @nectar/core: did you mean config.bodyTimeout?' },
    ]);
  });

  it('warns once per name, however many configs repeat it', async () => {
    const warnings = await warningsDuring(() => {
      untyped({ proxyPrt: 1 });
      untyped({ proxyPrt: 1 });
    });
    expect(warnings.map((w) => w.message)).toEqual(['config.proxyPrt is not a field of @nectar/core: did you mean config.proxyPort?']);
  });

  it("stays quiet about honoured fields, unrelated keys (a backend's threads) and anything in extra", async () => {
    const warnings = await warningsDuring(() => {
      untyped({ maxConcurrent: 2, minSpeed: 10, maxSpeed: 100, threads: 2, sshIdleTimeout: 0, comment: 'x' });
      new DownloaderConfig({ extra: { retires: 2, maxConcurent: 1 } });
    });
    expect(warnings).toEqual([]);
  });
});
