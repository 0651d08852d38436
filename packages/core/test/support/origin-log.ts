import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the origin saw it. */
export interface Visit {
  readonly path: string;
  /** performance.now() at arrival and when the response finished. */
  readonly at: number;
  end: number;
  /** Requests in progress when this one arrived, itself included. */
  readonly inFlight: number;
}

/** How the origin answers one request; `visit` is its entry in the log. */
export type Answer = (request: IncomingMessage, response: ServerResponse, visit: Visit) => void | Promise<void>;

/**
 * An origin on 127.0.0.1 that keeps its own log — when each request arrived, how many were in
 * progress — so that a test measures politeness where it matters: at the server.
 */
export class OriginLog {
  readonly visits: Visit[] = [];
  #inFlight = 0;
  #server: Server | undefined;
  answer: Answer = defaultAnswer;

  async start(): Promise<string> {
    this.#server = createServer((request, response) => void this.#handle(request, response));
    this.#server.keepAliveTimeout = 500;
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise((resolve) => this.#server?.close(resolve));
  }

  /** The most requests in progress at once, over the visits that match. */
  peak(filter: (visit: Visit) => boolean = () => true): number {
    return Math.max(0, ...this.visits.filter(filter).map((v) => v.inFlight));
  }

  /** The most arrivals within any window of `ms` (half-open, starting at an arrival). */
  busiestWindow(ms = 1000): number {
    const times = this.visits.map((v) => v.at).sort((a, b) => a - b);
    let best = 0;
    for (let i = 0, j = 0; i < times.length; i++) {
      while ((times[j] as number) < (times[i] as number) - ms + 1e-6) j++;
      best = Math.max(best, i - j + 1);
    }
    return best;
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const visit: Visit = { path: request.url ?? '', at: performance.now(), end: 0, inFlight: ++this.#inFlight };
    this.visits.push(visit);
    response.on('close', () => {
      this.#inFlight--;
      visit.end = performance.now();
    });
    try {
      await this.answer(request, response, visit);
    } catch {
      response.destroy();
    }
  }
}

/** `/file/<n>?delay=<ms>` answers n bytes after ms; `/redirect/<path>` sends a 302 to /<path>. */
export const defaultAnswer: Answer = async (request, response) => {
  const url = new URL(request.url ?? '/', 'http://x');
  if (url.pathname.startsWith('/redirect/')) {
    response.writeHead(302, { location: `/${url.pathname.slice('/redirect/'.length)}${url.search}` }).end();
    return;
  }
  const size = Number(url.pathname.split('/')[2] ?? 0);
  const delay = Number(url.searchParams.get('delay') ?? 0);
  if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
  response.writeHead(200, { 'content-length': size }).end(Buffer.alloc(size, 120));
};
