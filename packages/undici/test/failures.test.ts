import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, fetchOne, randomBytes, type Scratch, scratch } from './helpers.js';

const server: HttpFixture = httpFixture();
const downloaders = new Downloaders();
const body = randomBytes(100_000);
let tmp: Scratch;

beforeAll(async () => {
  await server.start();
  await server.publish('f.bin', body);
  tmp = await scratch();
});
afterAll(async () => {
  await server.stop();
  await tmp.remove();
});
afterEach(async () => {
  await downloaders.closeAll();
  server.reset();
});

/** A TCP server that accepts connections and never says a word. */
async function silentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const tcp: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
  });
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const { port } = tcp.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/silent`,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => tcp.close(resolve));
    },
  };
}

describe('timeouts', () => {
  it('fails a stalled body after bodyTimeout with NECTAR_TIMEOUT, retryable, leaving nothing', async () => {
    const started = performance.now();
    const report = await fetchOne(downloaders.create({ bodyTimeout: 300 }), server.url('/files/f.bin?stall=1000'), tmp.path('stall.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_TIMEOUT', timeout: 'body' });
    expect(performance.now() - started).toBeLessThan(3000);
    expect((await tmp.files()).filter((f) => f.includes('stall.bin'))).toEqual([]);
  });

  it('fails a server that sends no headers after headersTimeout', async () => {
    const silent = await silentServer();
    try {
      const report = await fetchOne(downloaders.create({ headersTimeout: 300 }), silent.url, tmp.path('silent.bin'));
      expect(report.state).toBe('failed');
      expect(report.errorReport).toMatchObject({ code: 'NECTAR_TIMEOUT', timeout: 'headers' });
    } finally {
      await silent.close();
    }
  });

  it('retries a timeout (it is transient) before failing', async () => {
    const report = await fetchOne(
      downloaders.create({ bodyTimeout: 200, retries: 1, retryDelay: 1 }),
      server.url('/files/f.bin?stall=10&noranges=1'),
      tmp.path('stall-retry.bin'),
    );
    expect(report.state).toBe('failed');
    expect(report.attempts).toBe(2);
  });
});

describe('connection failures', () => {
  it('fails a refused connection with NECTAR_CONNECT naming the URL', async () => {
    const url = server.unreachableUrl();
    const report = await fetchOne(downloaders.create(), url, tmp.path('refused.bin'));
    expect(report.state).toBe('failed');
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_CONNECT', url });
    expect(String(report.errorReport.message)).toContain(url);
  });

  it('fails a body cut short of its Content-Length as retryable', async () => {
    const report = await fetchOne(downloaders.create(), server.url('/files/f.bin?drop=1000&noranges=1'), tmp.path('cut.bin'));
    expect(report.state).toBe('failed');
    expect(['NECTAR_NETWORK', 'NECTAR_SIZE_MISMATCH']).toContain(report.errorReport.code);
    expect((await tmp.files()).filter((f) => f.includes('cut.bin'))).toEqual([]);
  });

  it('resumes a dropped body with Range and If-Range on the next attempt', async () => {
    // The fixture closes the connection after the resumed part too, which now and then reaches
    // undici before the last bytes are parsed: a third attempt resumes again.
    const downloader = downloaders.create({ retries: 3, retryDelay: 1 });
    const report = await fetchOne(downloader, server.url('/files/f.bin?drop=60000'), tmp.path('resumed.bin'));
    expect(report.state, JSON.stringify(report.errorReport)).toBe('succeeded');
    expect(report.attempts).toBeGreaterThanOrEqual(2);
    expect(report.totalBytes).toBe(body.length);
    expect(server.received[1]?.headers.range).toBe('bytes=60000-');
    // The fixture's strong ETag, as the first response gave it.
    expect(server.received[1]?.headers['if-range']).toMatch(/^"[0-9a-f]+"$/);
    expect((await readFile(tmp.path('resumed.bin'))).equals(body)).toBe(true);
  });
});
