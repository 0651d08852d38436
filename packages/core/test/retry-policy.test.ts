import { describe, expect, it } from 'vitest';
import { retryDelay, worthAMirror } from '../src/engine/retry-policy.js';
import { NectarError } from '../src/index.js';

const settings = { retryDelay: 500, retryMaxDelay: 30_000, retryAfterMax: 60_000 };
const reset = new NectarError('NECTAR_NETWORK', 'reset', { retryable: true });
const busy = (ms: number) => new NectarError('NECTAR_HTTP_STATUS', '503', { retryable: true, details: { retryAfter: ms } });

describe('retryDelay', () => {
  it('draws from zero up to an exponential ceiling (full jitter)', () => {
    expect(retryDelay(settings, 0, reset, () => 0)).toBe(0);
    expect(retryDelay(settings, 0, reset, () => 0.999_999)).toBeCloseTo(500, 0);
    expect(retryDelay(settings, 3, reset, () => 0.5)).toBe(2_000);
  });

  it('never waits longer than retryMaxDelay without a Retry-After', () => {
    expect(retryDelay(settings, 20, reset, () => 0.999_999)).toBeLessThanOrEqual(30_000);
  });

  it("takes a server's Retry-After as a floor, cut to retryAfterMax", () => {
    expect(retryDelay(settings, 0, busy(5_000), () => 0)).toBe(5_000);
    expect(retryDelay(settings, 0, busy(3_600_000), () => 0)).toBe(60_000);
    expect(retryDelay(settings, 10, busy(10), () => 0.5)).toBe(15_000);
  });
});

describe('worthAMirror', () => {
  it('tries a mirror after network and server failures, not after ours', () => {
    expect(worthAMirror(reset)).toBe(true);
    expect(worthAMirror(new NectarError('NECTAR_NOT_FOUND', '404'))).toBe(true);
    for (const code of ['NECTAR_DESTINATION', 'NECTAR_INVALID_REQUEST', 'NECTAR_RESUME', 'NECTAR_CANCELED'] as const) {
      expect(worthAMirror(new NectarError(code, code))).toBe(false);
    }
    expect(worthAMirror(undefined)).toBe(false);
  });
});
