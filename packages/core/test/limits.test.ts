import { describe, expect, it } from 'vitest';
import { ConcurrencyLimit, SpeedLimiter } from '../src/backend.js';

describe('SpeedLimiter', () => {
  it('schedules chunks back to back at the rate, shared by every caller', () => {
    const limiter = new SpeedLimiter(1000);
    expect(limiter.reserve(500, 0)).toBe(500);
    expect(limiter.reserve(500, 0)).toBe(1000);
    expect(limiter.reserve(1000, 100)).toBe(1900);
    // Idle time earns no burst: after the schedule ran dry, a chunk waits its own length again.
    expect(limiter.reserve(100, 10_000)).toBe(100);
  });

  it('shares one schedule between limiters built on the same state, as a worker thread does', () => {
    const main = new SpeedLimiter(1000);
    const worker = new SpeedLimiter(1000, main.state);
    expect(main.reserve(500, 0)).toBe(500);
    expect(worker.reserve(500, 0)).toBe(1000);
    expect(main.reserve(100, 0)).toBe(1100);
  });

  it('carries its rate in the shared state: a view follows setRate(), lifted and set again on a fresh schedule', () => {
    const main = new SpeedLimiter(1000);
    const worker = SpeedLimiter.sharing(main.state);
    expect(worker.reserve(500, 0)).toBe(500);
    main.setRate(Number.POSITIVE_INFINITY);
    expect(worker.bytesPerSecond).toBe(Number.POSITIVE_INFINITY);
    expect(worker.reserve(10_000, 0)).toBe(0);
    main.setRate(2000);
    // The slots reserved at the old rate do not hold the new one back.
    expect(worker.reserve(1000, 0)).toBe(500);
    expect(main.reserve(1000, 0)).toBe(1000);
    // A rate given beside an existing state does not replace the state's own.
    expect(new SpeedLimiter(1, main.state).bytesPerSecond).toBe(2000);
  });

  it('rejects a wait when the signal aborts', async () => {
    const limiter = new SpeedLimiter(10);
    limiter.reserve(100);
    await expect(limiter.take(10, AbortSignal.timeout(20))).rejects.toThrow();
  });
});

describe('ConcurrencyLimit', () => {
  it('grants up to max slots, queues the rest in order, and hands slots over on release', async () => {
    const limit = new ConcurrencyLimit(2);
    expect(await limit.acquire()).toBe(true);
    expect(await limit.acquire()).toBe(true);
    const order: number[] = [];
    const third = limit.acquire().then(() => order.push(3));
    const fourth = limit.acquire().then(() => order.push(4));
    limit.release();
    await third;
    expect(order).toEqual([3]);
    limit.release();
    await fourth;
    expect(order).toEqual([3, 4]);
    expect(limit.active).toBe(2);
  });

  it('gives up a queued acquire when its signal aborts', async () => {
    const limit = new ConcurrencyLimit(1);
    await limit.acquire();
    const controller = new AbortController();
    const waiting = limit.acquire(controller.signal);
    controller.abort();
    expect(await waiting).toBe(false);
    limit.release();
    expect(limit.active).toBe(0);
  });
});
