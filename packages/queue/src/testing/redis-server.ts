import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RedisServerOptions {
  /** Keep data across restart() with an append-only file (default false: memory only). */
  persistent?: boolean;
  /** The redis-server binary (default `redis-server` on PATH). */
  binary?: string;
}

/** A redis-server of the test's own on a free loopback port. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL unless `graceful`) and starts it again on the same port. */
  restart(options?: { downMs?: number; graceful?: boolean }): Promise<void>;
  /** `used_memory` from INFO memory, in bytes. */
  usedMemory(): Promise<number>;
  stop(): Promise<void>;
}

/** Whether redis-server can be started here. */
export function hasRedisServer(binary = 'redis-server'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = options.binary ?? 'redis-server';
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'nectar-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', options.persistent ? 'yes' : 'no'];
  if (options.persistent) args.push('--appendfsync', 'always');
  let child = await launch(binary, args, port);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async restart({ downMs = 0, graceful = false } = {}) {
      await kill(child, graceful ? 'SIGTERM' : 'SIGKILL');
      if (downMs > 0) await sleep(downMs);
      child = await launch(binary, args, port);
    },
    usedMemory: async () => Number(/used_memory:(\d+)/.exec(await command(port, 'INFO memory'))?.[1] ?? Number.NaN),
    async stop() {
      await kill(child, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function launch(binary: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let failed: Error | undefined;
  child.once('error', (error) => (failed = error));
  for (let i = 0; i < 200; i++) {
    if (failed) throw failed;
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if ((await command(port, 'PING').catch(() => '')).includes('PONG')) return child;
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not answer PING on port ${port}`);
}

async function kill(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}

/** One inline command over a fresh socket: enough for PING and INFO, no client library needed. */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let reply = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('timeout')));
    socket.on('data', (chunk) => {
      reply += chunk.toString('utf8');
      const bulk = /^\$(\d+)\r\n/.exec(reply);
      if (!bulk || Buffer.byteLength(reply) >= bulk[0].length + Number(bulk[1]) + 2) socket.end();
    });
    socket.on('end', () => resolve(reply));
    socket.on('close', () => resolve(reply));
    socket.on('error', reject);
    socket.connect(port, '127.0.0.1', () => socket.write(`${line}\r\n`));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
