import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostGate, slotLifetime } from '../src/host-gate.js';
import { clusterKeys } from '../src/naming.js';
import type { RedisServer } from '../src/testing/index.js';
import { redisAvailable, redisServer } from './support/redis.js';

describe('slotLifetime', () => {
  it('lasts until the slot began and a late attempt gave it up, however far ahead it lies', () => {
    expect(slotLifetime(1_000, 1_000)).toBe(2);
    expect(slotLifetime(61_000, 1_000)).toBe(62);
    // A slot already begun still holds its reservation a little: never 0, which would mean no expiry.
    expect(slotLifetime(0, 10_000)).toBe(1);
  });
});

describe.runIf(redisAvailable)('HostGate, in Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await redisServer();
    redis = new Redis(server.url, { lazyConnect: true });
    await redis.connect();
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('a slot reserved far ahead stays reserved until it begins: a slow rate never books one slot twice', async () => {
    // 0.1 request/s: slots 11 s apart, so the second attempt's slot begins long after 5 s.
    const gate = new HostGate(redis, clusterKeys({ prefix: 'bull', cluster: 'gate-ttl' }), () => ({ hostRate: 0.1 }));
    const stop = new AbortController();
    // Neither is awaited: each waits for its slot, and the slots are what the test reads.
    const takes = [gate.take('example.org', stop.signal), gate.take('example.org', stop.signal)].map((take) => take.catch(() => 'aborted'));
    let keys: string[] = [];
    for (let i = 0; i < 100 && keys.length < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      keys = await redis.keys('bull:gate-ttl:*slot*');
    }
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      const [slotMs, slot] = key.split(':').slice(-2).map(Number) as [number, number];
      const ttl = await redis.pttl(key);
      // Before the fix each key lived 5 s: the second slot, 11 s away, was free again after 5.
      expect(ttl, key).toBeGreaterThanOrEqual(slot * slotMs - Date.now());
    }
    expect(new Set(keys.map((key) => key.split(':').at(-1))).size).toBe(2);
    stop.abort();
    // The later one certainly still waited (the first slot may have begun meanwhile).
    expect((await Promise.all(takes))[1]).toBe('aborted');
  });
});
