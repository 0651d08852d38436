import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** One request as the origin logged it, stamped when it arrived. */
export interface Hit {
  readonly path: string;
  readonly at: number;
  readonly status: number;
}

/**
 * An HTTP origin on 127.0.0.1 that logs every request. `/f/<name>?size=N&ms=T` answers `size`
 * bytes derived from the name after `ms`; `fail=K&status=S&retryAfter=R` answers the first K
 * requests of that path with S (and a Retry-After of R seconds).
 */
export interface Origin {
  readonly host: string;
  readonly hits: Hit[];
  readonly peakInFlight: number;
  /** The most requests at once among those that arrived after the last reset() (stragglers from before it not counted). */
  readonly peakInFlightSinceReset: number;
  url(name: string, query?: Record<string, string | number>): string;
  /** Called when a `hold=T` response has sent its whole body and waits T ms before it ends. */
  onHeld: ((path: string) => void) | undefined;
  body(name: string, size: number): Buffer;
  /** Forgets hits and the peak. */
  reset(): void;
  stop(): Promise<void>;
}

export async function startOrigin(): Promise<Origin> {
  const hits: Hit[] = [];
  const seen = new Map<string, number>();
  let inFlight = 0;
  let peak = 0;
  /** Requests that arrived since the last reset(), and the most of them at once. */
  let epoch = 0;
  let fresh = 0;
  let freshPeak = 0;
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://origin');
    const count = (seen.get(url.pathname) ?? 0) + 1;
    seen.set(url.pathname, count);
    const q = (k: string) => Number(url.searchParams.get(k) ?? 0);
    const failing = count <= q('fail');
    const status = failing ? q('status') || 503 : 200;
    hits.push({ path: url.pathname, at: performance.now(), status });
    inFlight++;
    peak = Math.max(peak, inFlight);
    const arrivedIn = epoch;
    fresh++;
    freshPeak = Math.max(freshPeak, fresh);
    try {
      if (q('ms') > 0) await sleep(q('ms'));
      if (failing) {
        const headers: Record<string, string> = url.searchParams.has('retryAfter') ? { 'retry-after': String(q('retryAfter')) } : {};
        res.writeHead(status, headers).end('slow down');
        return;
      }
      const body = bodyOf(url.pathname.slice(3), q('size') || 100);
      if (q('hold') > 0 && count === 1) {
        // Chunked: every byte is sent, but the client cannot know the body is whole until the end.
        res.writeHead(200).write(body);
        origin.onHeld?.(url.pathname);
        await sleep(q('hold'));
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': String(body.length) }).end(body);
    } finally {
      inFlight--;
      if (arrivedIn === epoch) fresh--;
    }
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  const origin: Origin = {
    onHeld: undefined,
    host: `127.0.0.1:${port}`,
    hits,
    get peakInFlight() {
      return peak;
    },
    get peakInFlightSinceReset() {
      return freshPeak;
    },
    url: (name, query = {}) => {
      const search = new URLSearchParams(Object.entries(query).map(([k, v]): [string, string] => [k, String(v)])).toString();
      return `http://127.0.0.1:${port}/f/${name}${search === '' ? '' : `?${search}`}`;
    },
    body: bodyOf,
    reset() {
      hits.length = 0;
      seen.clear();
      peak = inFlight;
      epoch++;
      fresh = 0;
      freshPeak = 0;
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return origin;
}

function bodyOf(name: string, size: number): Buffer {
  const seed = Buffer.from(`${name}|`);
  return Buffer.alloc(size, seed);
}

/** The most requests the log shows in any window of `ms` (a sliding window, as an origin counts). */
export function peakInWindow(times: readonly number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while ((sorted[i] as number) - (sorted[j] as number) >= ms) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}
