import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { type Server, type Socket, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Scratch, scratch } from './helpers.js';

const COUNT = 1000;
const SECRET = 'Chaos-Secret-9f2';

/** What the chaos server does to a path; most are served honestly. */
type Fault = 'none' | 'reset' | 'short' | 'splice' | 'status503' | 'planted' | 'unasked206' | 'extra' | 'malformed' | 'trickle' | 'bigger';
const FAULTS: readonly Fault[] = ['reset', 'short', 'splice', 'status503', 'planted', 'unasked206', 'extra', 'malformed', 'trickle', 'bigger'];
/** Faults that happen on every request: the download must fail cleanly. */
const LASTING: ReadonlySet<Fault> = new Set(['unasked206', 'malformed', 'trickle', 'bigger']);

/** ~10% of the paths get a fault, each kind in turn; deterministic, so a failure can be replayed. */
function faultOf(i: number): Fault {
  const roll = createHash('sha256').update(`chaos-${i}`).digest().readUInt32BE(0) / 2 ** 32;
  return roll < 0.1 ? (FAULTS[i % FAULTS.length] ?? 'none') : 'none';
}

function bodyOf(i: number, version: 1 | 2): Buffer {
  const size = 1_000 + ((i * 7_919) % 60_000);
  const body = Buffer.alloc(size);
  let seed = createHash('sha256').update(`body-${i}-${version}`).digest();
  for (let at = 0; at < size; at += seed.length) {
    seed.copy(body, at);
    seed = createHash('sha256').update(seed).digest();
  }
  return body;
}

/** A raw HTTP/1.1 origin that honours Range + If-Range, and lies on the paths faultOf() picks. */
class ChaosServer {
  readonly #server: Server = createServer((socket) => this.#accept(socket));
  readonly #sockets = new Set<Socket>();
  readonly #seen = new Map<number, number>();
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      const text = head.slice(0, end);
      head = head.slice(end + 4);
      this.#answer(socket, text);
    });
  }

  #answer(socket: Socket, text: string): void {
    const [line = '', ...fields] = text.split('\r\n');
    const headers = new Map(fields.map((f) => [f.slice(0, f.indexOf(':')).toLowerCase(), f.slice(f.indexOf(':') + 1).trim()]));
    const i = Number(/^GET \/f\/(\d+)/.exec(line)?.[1] ?? -1);
    const count = (this.#seen.get(i) ?? 0) + 1;
    this.#seen.set(i, count);
    const fault = faultOf(i);
    const first = count === 1;
    if (fault === 'malformed') {
      socket.end('HTTP/1.1 200 OK\r\nbroken header line\r\n\r\n');
      return;
    }
    if (fault === 'unasked206') {
      send(socket, 206, { 'content-range': 'bytes 0-9/100' }, bodyOf(i, 1).subarray(0, 10));
      return;
    }
    if (fault === 'status503' && first) {
      send(socket, 503, {}, Buffer.from('busy'));
      return;
    }
    const version = fault === 'splice' && !first ? 2 : 1;
    const body = bodyOf(i, version);
    const etag = `"v${version}-${i}"`;
    if (fault === 'trickle') {
      this.#trickle(socket, body);
      return;
    }
    if (fault === 'bigger') {
      cut(socket, { 'content-length': String(body.length + 10), etag }, body, body.length);
      return;
    }
    if ((fault === 'reset' || fault === 'short' || fault === 'splice') && first) {
      const half = body.subarray(0, body.length >> 1);
      socket.write(head(200, { 'content-length': String(body.length), etag }));
      socket.write(half);
      setTimeout(() => (fault === 'reset' ? socket.resetAndDestroy() : socket.destroy()), 10);
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(headers.get('range') ?? '');
    if (range !== null && (fault === 'splice' || headers.get('if-range') === etag)) {
      // A splice fault answers the resume from the new version: the client must notice the ETag.
      const start = Number(range[1]);
      send(socket, 206, { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, etag }, body.subarray(start));
      return;
    }
    if (fault === 'extra') {
      socket.end(Buffer.concat([Buffer.from(head(200, { 'content-length': String(body.length), etag })), body, Buffer.alloc(500, 7)]));
      return;
    }
    send(socket, 200, { etag }, body);
    return;
  }

  #trickle(socket: Socket, body: Buffer): void {
    socket.write(head(200, { 'content-length': String(body.length) }));
    let at = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || at >= body.length) {
        clearInterval(timer);
        return;
      }
      socket.write(body.subarray(at, at + 10));
      at += 10;
    }, 100);
    socket.on('close', () => clearInterval(timer));
  }
}

function head(status: number, headers: Record<string, string>): string {
  return `HTTP/1.1 ${status} X\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

function send(socket: Socket, status: number, headers: Record<string, string>, body: Buffer): void {
  socket.write(head(status, { ...headers, 'content-length': String(body.length) }));
  socket.write(body);
}

/** Announces one length, sends `sent` bytes, then closes. */
function cut(socket: Socket, headers: Record<string, string>, body: Buffer, sent: number): void {
  socket.write(head(200, headers));
  socket.end(body.subarray(0, sent));
}

interface ChildReport {
  state: string;
  data: number;
  url: string;
  errorReport: { code?: string };
}

function runChild(origin: string, folder: string, threads: number): Promise<{ reports: ChildReport[]; faults: string[]; stdout: string; stderr: string }> {
  const script = fileURLToPath(new URL('./chaos/run.mjs', import.meta.url));
  return new Promise((resolve, reject) => {
    // A child that does not exit by itself after close() is killed by the timeout: a failure.
    execFile(process.execPath, [script, origin, folder, String(threads), String(COUNT), SECRET], { timeout: 150_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`the chaos run did not exit by itself: ${error.message}\n${stderr}`));
      const { reports, faults } = JSON.parse(stdout) as { reports: ChildReport[]; faults: string[] };
      resolve({ reports, faults, stdout, stderr });
    });
  });
}

/**
 * 1,000 downloads with ~10% of every fault above (resets, short and long bodies, a resume from
 * another version, 503s, unasked 206s, broken heads, a trickle, planted part-file links) in a
 * child process: every file byte-identical or cleanly failed, nothing partial left, no victim
 * touched, no secret in any report, and the process exits by itself after close().
 */
describe('chaos: 1,000 downloads with ~10% injected faults', () => {
  const server = new ChaosServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  for (const threads of [0, 2]) {
    it(`ends every file whole or cleanly failed (${threads === 0 ? 'in-process' : 'threaded'})`, async () => {
      const folder: Scratch = await scratch();
      const victims: Scratch = await scratch();
      try {
        const planted: number[] = [];
        for (let i = 0; i < COUNT; i++) {
          if (faultOf(i) !== 'planted') continue;
          const victim = victims.path(`victim-${i}`);
          await writeFile(victim, 'untouched');
          await symlink(victim, folder.path(`.f${i}.bin.nectar-part`));
          planted.push(i);
        }
        const { reports, faults, stdout, stderr } = await runChild(`http://127.0.0.1:${server.port}/`, folder.dir, threads);
        expect(faults).toEqual([]);
        expect(reports).toHaveLength(COUNT);
        expect(`${stdout}${stderr}`).not.toContain(SECRET);
        const tally = new Map<string, number>();
        for (const report of reports) {
          const i = report.data;
          const fault = faultOf(i);
          const dest = folder.path(`f${i}.bin`);
          tally.set(`${fault}:${report.state}`, (tally.get(`${fault}:${report.state}`) ?? 0) + 1);
          if (report.state === 'succeeded') {
            expect(LASTING.has(fault), `${fault} ${i} succeeded`).toBe(false);
            expect((await readFile(dest)).equals(bodyOf(i, fault === 'splice' ? 2 : 1)), `f${i} (${fault})`).toBe(true);
          } else {
            expect(report.state).toBe("failed");
            expect(LASTING.has(fault) || fault === 'extra', `${fault} ${i}: ${JSON.stringify(report.errorReport)}`).toBe(true);
            expect(report.errorReport.code).toMatch(/^NECTAR_(RESUME|NETWORK|TIMEOUT|SIZE_MISMATCH)$/);
            expect(existsSync(dest)).toBe(false);
          }
        }
        expect((await readdir(folder.dir)).filter((f) => f.includes('.nectar-part'))).toEqual([]);
        for (const i of planted) expect(await readFile(victims.path(`victim-${i}`), 'utf8')).toBe('untouched');
        console.log(`chaos (${threads === 0 ? 'in-process' : 'threaded'}): ${[...tally].sort().map(([k, n]) => `${k} ${n}`).join(', ')}`);
        // Every kind of fault was drawn at least once.
        for (const fault of FAULTS) expect([...tally.keys()].some((k) => k.startsWith(`${fault}:`)), fault).toBe(true);
      } finally {
        await folder.remove();
        await victims.remove();
      }
    }, 180_000);
  }
});
