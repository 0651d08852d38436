import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { httpFixture, tcpRelay } from '../src/fixtures/index.js';

const FILE = randomBytes(64 * 1024);
const SMALL = randomBytes(300);

describe('tcpRelay', () => {
  const origin = httpFixture();
  const target = () => ({ host: '127.0.0.1', port: origin.port });

  beforeAll(async () => {
    await origin.start();
    await origin.publish('a.bin', FILE);
    await origin.publish('small.bin', SMALL);
  });
  afterAll(() => origin.stop());
  afterEach(() => origin.reset());

  it('forwards every byte unchanged at faultRate 0', async () => {
    const relay = tcpRelay({ target: target() });
    await relay.start();
    const agent = new Agent();
    try {
      expect(relay.url('/files/a.bin')).toBe(`http://127.0.0.1:${relay.port}/files/a.bin`);
      for (let i = 0; i < 3; i += 1) {
        const res = await request(relay.url('/files/a.bin'), { dispatcher: agent });
        expect(Buffer.from(await res.body.arrayBuffer()).equals(FILE)).toBe(true);
      }
      // One origin connection per relayed one (undici's pool may open a second at will).
      expect(relay.stats.connections).toBe(origin.stats.connections);
      expect(relay.stats.faults).toBe(0);
      expect(relay.stats.bytes).toBeGreaterThan(3 * FILE.length);
    } finally {
      await agent.close();
      await relay.stop();
    }
  });

  it('cuts every connection with a reset at faultRate 1, in the head or the body', async () => {
    const relay = tcpRelay({ target: target(), faultRate: 1, seed: 7, maxBytesBeforeFault: 1000 });
    await relay.start();
    const agent = new Agent();
    try {
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 8; i += 1) codes.push(await failureOf(agent, relay.url('/files/a.bin')));
      expect(codes.every((code) => code === 'ECONNRESET')).toBe(true);
      expect(relay.stats.connections).toBe(8);
      expect(relay.stats.faults).toBe(8);
    } finally {
      await agent.close();
      await relay.stop();
    }
  });

  it('picks the same faults for the same seed', async () => {
    const faults = async (seed: number) => {
      const relay = tcpRelay({ target: target(), faultRate: 0.5, seed, maxBytesBeforeFault: 200 });
      await relay.start();
      try {
        const outcomes = await Promise.all(
          Array.from({ length: 50 }, () => rawGet(relay.port, '/files/small.bin')),
        );
        // What the clients saw agrees with what the relay counted.
        expect(outcomes.filter((o) => o === 'ECONNRESET')).toHaveLength(relay.stats.faults);
        expect(relay.stats.connections).toBe(50);
        return relay.stats.faults;
      } finally {
        await relay.stop();
      }
    };
    const first = await faults(42);
    expect(first).toBeGreaterThan(0);
    expect(first).toBeLessThan(50);
    expect(await faults(42)).toBe(first);
  });

  it('changes its fault rate for later connections, and refuses a rate outside 0 to 1', async () => {
    const relay = tcpRelay({ target: target(), faultRate: 1 });
    await relay.start();
    try {
      expect(await rawGet(relay.port, '/files/small.bin')).toBe('ECONNRESET');
      relay.setFaultRate(0);
      expect(await rawGet(relay.port, '/files/small.bin')).toBe('complete');
      expect(() => relay.setFaultRate(1.5)).toThrow(RangeError);
      expect(relay.stats.faults).toBe(1);
    } finally {
      await relay.stop();
    }
  });

  it('closes every relayed connection when it stops', async () => {
    const relay = tcpRelay({ target: target() });
    await relay.start();
    const agent = new Agent();
    try {
      const stalled = await request(relay.url('/files/a.bin?stall=10'), { dispatcher: agent });
      expect(origin.stats.openConnections).toBe(1);
      await relay.stop();
      await relay.stop();
      await expect(stalled.body.arrayBuffer()).rejects.toThrow();
      await waitFor(() => origin.stats.openConnections === 0);
    } finally {
      await agent.close();
    }
  });
});

/** The code a GET failed with, in its head or its body; undefined if it succeeded. */
async function failureOf(agent: Agent, url: string): Promise<string | undefined> {
  try {
    const res = await request(url, { dispatcher: agent });
    await res.body.arrayBuffer();
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code;
  }
}

/** A GET on a raw socket: 'complete' when the server closed it cleanly, else the error code. */
async function rawGet(port: number, target: string): Promise<string> {
  const socket = connect(port, '127.0.0.1');
  socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
  try {
    for await (const _chunk of socket) {
      // Only how the stream ends matters here.
    }
    return 'complete';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? 'unknown';
  }
}

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
