import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One file the demo server offers. */
export interface SampleFile {
  readonly name: string;
  readonly size: number;
  /** Bytes per second; unlimited when absent. */
  readonly rate?: number;
  /** Sent without Content-Length, so the bar has to cope with an unknown size. */
  readonly chunked?: boolean;
}

export const sampleFiles: readonly SampleFile[] = [
  { name: 'small.txt', size: 4 * 1024 },
  { name: 'medium.bin', size: 2 * 1024 * 1024, rate: 1024 * 1024 },
  { name: 'large.bin', size: 8 * 1024 * 1024, rate: 3 * 1024 * 1024 },
  { name: 'slow.bin', size: 768 * 1024, rate: 256 * 1024 },
  { name: 'stream.log', size: 1024 * 1024, rate: 512 * 1024, chunked: true },
];

/** A local HTTP server on 127.0.0.1 serving `files` (deterministic bytes), paced by `rate`. */
export class DemoServer {
  readonly #files: ReadonlyMap<string, SampleFile>;
  readonly #server: Server;

  constructor(files: readonly SampleFile[] = sampleFiles) {
    this.#files = new Map(files.map((f) => [f.name, f]));
    this.#server = createServer((req, res) => this.#serve(req, res));
  }

  async start(): Promise<string> {
    this.#server.listen(0, '127.0.0.1');
    await once(this.#server, 'listening');
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    const closed = new Promise((resolve) => this.#server.close(resolve));
    this.#server.closeAllConnections();
    await closed;
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    const file = this.#files.get(decodeURIComponent(new URL(req.url ?? '/', 'http://demo').pathname.slice(1)));
    if (file === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, file.chunked ? { 'content-type': 'application/octet-stream' } : { 'content-length': file.size });
    void send(res, file);
  }
}

/** Writes the body in 64 KiB chunks, a chunk every so often to keep to the file's rate. */
async function send(res: ServerResponse, file: SampleFile): Promise<void> {
  const chunk = Buffer.alloc(64 * 1024, file.name);
  const pause = file.rate === undefined ? 0 : (chunk.length / file.rate) * 1000;
  for (let sent = 0; sent < file.size && !res.destroyed; sent += chunk.length) {
    if (!res.write(chunk.subarray(0, Math.min(chunk.length, file.size - sent)))) await once(res, 'drain');
    if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
  }
  res.end();
}
