import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { type DownloadReport, DownloadRequest, type DownloaderConfigOptions } from '@nectar/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Downloaders, type Scratch, scratch } from './helpers.js';

const GOOD = randomBytes(20_000);
const CHUNK = Buffer.alloc(64 * 1024, 1);
const downloaders = new Downloaders();
const sockets = new Set<Socket>();
let tmp: Scratch;
let http: Server;
let raw: TcpServer;
let origin: string;
let rawOrigin: string;
let counter = 0;

/** Errors that escaped the library: each one would have ended the process without our listener. */
const escaped: unknown[] = [];
const onEscape = (error: unknown) => escaped.push(error);

/** Answers whose headers are fine but whose body the downloader must refuse or cannot trust. */
const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/good': (_req, res) => res.end(GOOD),
  // Announces far more than maxFileSize and keeps sending while the client reads.
  '/huge': (_req, res) => {
    res.writeHead(200, { 'content-length': 100 * CHUNK.length });
    pour(res, 100);
  },
  '/sized': (_req, res) => {
    res.writeHead(200, { 'content-length': 20 * CHUNK.length });
    pour(res, 20);
  },
  '/odd-coding': (_req, res) => {
    res.writeHead(200, { 'content-encoding': 'x-unknown', 'content-length': 20 * CHUNK.length });
    pour(res, 20);
  },
  // A 206 to a request that carried its own Range: core did not ask to resume anything.
  '/partial': (_req, res) => {
    res.writeHead(206, { 'content-range': 'bytes 0-9/1000', 'content-length': 10 });
    res.end(Buffer.alloc(10, 2));
  },
  // Sends part of the body, then a TCP reset.
  '/reset': (_req, res) => {
    res.writeHead(200, { 'content-length': 20 * CHUNK.length });
    res.write(CHUNK, () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
  },
};

/** Writes `count` chunks, each when the last one drained, until the client goes away. */
function pour(res: ServerResponse, count: number): void {
  let left = count;
  const next = () => {
    while (left > 0 && !res.destroyed) {
      left--;
      if (!res.write(CHUNK)) return void res.once('drain', next);
    }
    if (left === 0) res.end();
  };
  next();
}

/** A chunked body whose second chunk size is not hexadecimal: a protocol violation mid-body. */
function sendBadChunks(socket: Socket): void {
  socket.once('data', () => {
    socket.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    setTimeout(() => socket.write('ZZZ\r\nnot a chunk\r\n'), 20);
  });
}

async function listening<T extends Server | TcpServer>(server: T): Promise<string> {
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  process.on('unhandledRejection', onEscape);
  process.on('uncaughtException', onEscape);
  http = createServer((req, res) => {
    const route = routes[new URL(req.url ?? '/', origin).pathname];
    if (route === undefined) res.writeHead(404).end();
    else route(req, res);
  });
  raw = createTcpServer(sendBadChunks);
  [origin, rawOrigin] = await Promise.all([listening(http), listening(raw)]);
  tmp = await scratch();
});
afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all([new Promise((resolve) => http.close(resolve)), new Promise((resolve) => raw.close(resolve))]);
  await tmp.remove();
  process.off('unhandledRejection', onEscape);
  process.off('uncaughtException', onEscape);
});
afterEach(async () => {
  await downloaders.closeAll();
  // A late 'error' (a socket reset after the report settled) shows up within a few ticks.
  await new Promise((resolve) => setTimeout(resolve, 100));
  expect(escaped.splice(0)).toEqual([]);
});

interface Hostile {
  readonly url: string;
  readonly config?: DownloaderConfigOptions;
  readonly request?: { headers?: Record<string, string>; expectedSize?: number };
}

/** The hostile request beside two good ones in one download(); returns its report. */
async function beside({ url, config = {}, request = {} }: Hostile): Promise<DownloadReport> {
  const n = ++counter;
  const requests = [
    new DownloadRequest(`${origin}/good`, tmp.path(`good-a-${n}`)),
    new DownloadRequest(url, tmp.path(`hostile-${n}`), request),
    new DownloadRequest(`${origin}/good`, tmp.path(`good-b-${n}`)),
  ];
  const [before, hostile, after] = await downloaders.create({ maxConcurrent: 3, ...config }).download(requests);
  for (const good of [before, after]) {
    expect(good?.state, JSON.stringify(good?.errorReport)).toBe('succeeded');
    expect(await readFile(String(good?.destination))).toEqual(GOOD);
  }
  expect(hostile?.state).toBe('failed');
  expect((await tmp.files()).filter((name) => name.includes(`hostile-${n}`))).toEqual([]);
  return hostile!;
}

describe('a response refused after its headers fails that request only, never the process', () => {
  it('Content-Length above maxFileSize', async () => {
    const report = await beside({ url: `${origin}/huge`, config: { maxFileSize: 100_000 } });
    expect(report.errorReport.code).toBe('NECTAR_MAX_FILE_SIZE');
  });

  it('Content-Length other than the request\'s expectedSize', async () => {
    const report = await beside({ url: `${origin}/sized`, request: { expectedSize: 10 } });
    expect(report.errorReport.code).toBe('NECTAR_SIZE_MISMATCH');
  });

  it('an unknown Content-Encoding with decompress', async () => {
    const report = await beside({ url: `${origin}/odd-coding`, config: { decompress: true } });
    expect(report.errorReport).toMatchObject({ code: 'NECTAR_NOT_SUPPORTED', contentEncoding: 'x-unknown' });
  });

  it('a 206 to a request that sent its own Range', async () => {
    const report = await beside({ url: `${origin}/partial`, request: { headers: { Range: 'bytes=0-9' } } });
    // Core decides which refusal this is (today the short body's size mismatch, soon the 206
    // itself); whichever it is, it is a clean one with its own code.
    expect(report.errorReport.code).toMatch(/^NECTAR_[A-Z_]+$/);
    expect(report.errorReport.code).not.toBe('NECTAR_BACKEND');
  });

  it('a connection reset mid-body', async () => {
    const report = await beside({ url: `${origin}/reset` });
    expect(report.errorReport.code).toBe('NECTAR_NETWORK');
  });

  it('an invalid chunked encoding mid-body', async () => {
    const report = await beside({ url: `${rawOrigin}/bad-chunks` });
    expect(report.errorReport.code).toBe('NECTAR_NETWORK');
  });
});
