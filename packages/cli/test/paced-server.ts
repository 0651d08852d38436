import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PacedServer {
  /** `/<name>?size=N&rate=R`: N bytes (deterministic) sent at about R bytes per second. */
  url(name: string, size: number, rate: number): string;
  /** The body every URL of that size serves. */
  body(size: number): Buffer;
  /** The Range headers received, in order. */
  readonly ranges: string[];
  stop(): Promise<void>;
}

/**
 * A real node:http server on 127.0.0.1 that trickles its bodies at a chosen rate, with an ETag and
 * byte ranges (a resume gets a 206 from the offset asked for), and 404 for /missing/….
 */
export async function pacedServer(): Promise<PacedServer> {
  const ranges: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://x');
    if (url.pathname.startsWith('/missing/')) {
      response.writeHead(404).end('not here');
      return;
    }
    const size = Number(url.searchParams.get('size') ?? '0');
    const rate = Number(url.searchParams.get('rate') ?? '1000000');
    const range = /^bytes=(\d+)-$/.exec(request.headers.range ?? '');
    if (request.headers.range !== undefined) ranges.push(request.headers.range);
    const from = range === null ? 0 : Number(range[1]);
    const headers = { 'content-length': String(size - from), etag: `"${size}"`, 'accept-ranges': 'bytes' };
    if (from > 0) response.writeHead(206, { ...headers, 'content-range': `bytes ${from}-${size - 1}/${size}` });
    else response.writeHead(200, headers);
    trickle(response, bodyOf(size).subarray(from), rate);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: (name, size, rate) => `http://127.0.0.1:${port}/${encodeURIComponent(name)}?size=${size}&rate=${rate}`,
    body: bodyOf,
    ranges,
    stop: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** Ten slices a second, each a tenth of the rate; stops when the client goes. */
function trickle(response: NodeJS.WritableStream & { destroyed: boolean }, body: Buffer, rate: number): void {
  const slice = Math.max(1, Math.round(rate / 10));
  let at = 0;
  const timer = setInterval(() => {
    if (response.destroyed) return clearInterval(timer);
    const next = body.subarray(at, at + slice);
    at += next.length;
    if (at >= body.length) {
      clearInterval(timer);
      response.end(next);
    } else response.write(next);
  }, 100);
}

/** The same bytes for the same size, every time: a resumed file must match. */
function bodyOf(size: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(String(size)).digest();
  for (let at = 0; at < size; at += block.length) {
    block.copy(out, at);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}
