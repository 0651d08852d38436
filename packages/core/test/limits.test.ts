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
