import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { socksFixture } from '@nectar/conformance';
import { afterEach, describe, expect, it } from 'vitest';
import { commandLineSecrets, parseCommand } from '../src/args.js';
import { configFromOptions, parseRate } from '../src/config.js';
import { runCli, tempDir } from './cli-process.js';

function config(args: string[]) {
  const command = parseCommand(['http://h/f', ...args]);
  if (command.kind !== 'get') throw new Error('expected get');
  return configFromOptions(command.options);
}

describe('politeness and transport options', () => {
  it('map onto the per-host fields, http2 and a SOCKS proxy', () => {
    expect(config(['--max-per-host', '2', '--host-rate', '30/m', '--limit-rate-per-host', '500K', '--http2', '--socks5-hostname', 'u:p%40ss@h:1080'])).toEqual({
      maxPerHost: 2,
      hostRate: 0.5,
      maxSpeedPerHost: 500 * 1024,
      http2: true,
      proxyUrl: 'socks5h://h:1080',
      proxyUsername: 'u',
      proxyPassword: 'p@ss',
    });
    expect(config(['--parallel-max-host', '3', '-x', 'socks5://h'])).toEqual({ maxPerHost: 3, proxyUrl: 'socks5://h' });
    expect(config(['--socks5', 'h:9050'])).toEqual({ proxyUrl: 'socks5://h:9050' });
  });

  it('reads --max-bytes-in-flight with the size parser --limit-rate uses', () => {
    expect(config(['--max-bytes-in-flight', '1.5M'])).toEqual({ maxBytesInFlight: 1.5 * 1024 * 1024 });
    expect(config(['--max-bytes-in-flight', '2G'])).toEqual({ maxBytesInFlight: 2 * 1024 ** 3 });
    for (const bad of ['lots', '0', '1T']) expect(() => config(['--max-bytes-in-flight', bad])).toThrow(/--max-bytes-in-flight must be a size like 500K/);
  });

  it('reads rates per second, minute or hour, and refuses the rest', () => {
    expect([parseRate('5'), parseRate('5/s'), parseRate('0.5/s'), parseRate('120/min'), parseRate('36/h')]).toEqual([5, 5, 0.5, 2, 0.01]);
    for (const bad of ['fast', '0', '5/d', '-1/s', '']) expect(() => parseRate(bad)).toThrow(/--host-rate must be/);
    expect(() => config(['--max-per-host', '2', '--parallel-max-host', '3'])).toThrow(/same option/);
    expect(() => config(['-x', 'http://p', '--socks5', 'h'])).toThrow(/give one of/);
  });

  it('finds the password of a --socks5 proxy among the secrets to mask', () => {
    expect(commandLineSecrets(['http://h/f', '--socks5', 'ann:s3cret@h:1080'])).toContain('s3cret');
    expect(commandLineSecrets(['http://h/f', '-x', 'socks5h://ann:t0ken@h'])).toContain('t0ken');
  });
});

const servers: Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

/** An origin that answers 503 (Retry-After: 1) to its first request and logs requests at once. */
async function origin(): Promise<{ base: string; peak: () => number }> {
  let inFlight = 0;
  let peak = 0;
  let first = true;
  const server = createServer((_request, response) => {
    peak = Math.max(peak, ++inFlight);
    response.on('close', () => inFlight--);
    if (first) {
      first = false;
      return void response.writeHead(503, { 'retry-after': '1' }).end();
    }
    setTimeout(() => response.writeHead(200, { 'content-length': 3 }).end('abc'), 100);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, peak: () => peak };
}

describe('nectar get, politely', () => {
  it('keeps to --max-per-host at the server and says when the host slowed it down', async () => {
    const { base, peak } = await origin();
    const dir = await tempDir();
    try {
      const urls = Array.from({ length: 6 }, (_, i) => `${base}/f${i}`);
      const result = await runCli([...urls, '--max-per-host', '2', '--retry-delay', '0.01', '-d', dir.path]);
      expect(result.stderr).toContain(`slowed   ${base}: 503, pausing 1.0 s (Retry-After), 1 at once until it recovers`);
      expect(result.code).toBe(0);
      expect(peak()).toBeLessThanOrEqual(2);
    } finally {
      await dir.remove();
    }
  });

  it('lets one file larger than --max-bytes-in-flight through, and holds the next until it is done', async () => {
    const size = 64 * 1024;
    // /slow answers at once and sends its body over ~400 ms; /fast answers 100 ms later, whole.
    const server = createServer((request, response) => {
      response.on('error', () => {});
      const head = () => response.writeHead(200, { 'content-length': size });
      if (request.url === '/fast') return void setTimeout(() => head().end(Buffer.alloc(size)), 100);
      head();
      let sent = 0;
      const timer = setInterval(() => {
        response.write(Buffer.alloc(size / 8));
        sent += size / 8;
        if (sent === size) {
          clearInterval(timer);
          response.end();
        }
      }, 50);
      response.on('close', () => clearInterval(timer));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const dir = await tempDir();
    try {
      const result = await runCli([`${base}/slow`, `${base}/fast`, '-j', '2', '--max-bytes-in-flight', '10K', '--json', '-d', dir.path]);
      expect(result.code, result.stderr).toBe(0);
      const reports = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as { url: string; state: string; bytesDownloaded: number; finishTime: string });
      const [slow, fast] = [`${base}/slow`, `${base}/fast`].map((url) => reports.find((r) => r.url === url));
      expect([slow?.state, fast?.state]).toEqual(['succeeded', 'succeeded']);
      expect(slow?.bytesDownloaded).toBe(size);
      // Without the budget /fast is done ~300 ms before /slow; with it, its body waits for /slow's end.
      expect(Date.parse(fast?.finishTime ?? '')).toBeGreaterThanOrEqual(Date.parse(slow?.finishTime ?? ''));
    } finally {
      await dir.remove();
    }
  });

  it('downloads through -x socks5://user:pass@…, and a wrong password fails without being printed', async () => {
    const { base } = await origin();
    const socks = socksFixture({ auth: { username: 'ann', password: 'right-Pw' } });
    await socks.start();
    const dir = await tempDir();
    try {
      const proxy = socks.url.replace('//', '//ann:right-Pw@');
      const ok = await runCli([`${base}/a`, `${base}/b`, '-x', proxy, '-d', dir.path]);
      expect(ok.code).toBe(0);
      expect(socks.connects.length).toBeGreaterThan(0);
      const wrong = await runCli([`${base}/c`, '-x', socks.url.replace('//', '//ann:wrong-Pw@'), '-d', dir.path, '--json']);
      expect(wrong.code).not.toBe(0);
      expect(wrong.stderr).toMatch(/SOCKS proxy refused the login/);
      expect(`${wrong.stderr}${wrong.stdout}`).not.toContain('wrong-Pw');
    } finally {
      await socks.stop();
      await dir.remove();
    }
  });
});
