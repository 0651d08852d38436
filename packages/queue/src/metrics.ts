import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { Counter, Gauge, Registry } from 'prom-client';

/**
 * A worker's Prometheus metrics (prom-client), in a registry of its own so that two workers in
 * one process never share counters: downloads by outcome, bytes, failures by code, requests in
 * flight per host and requests sent per host (its rate is `rate(nectar_worker_host_requests_total[1m])`).
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly #downloads = new Counter({ name: 'nectar_worker_downloads_total', help: 'Requests finished, by state', labelNames: ['state'], registers: [this.registry] });
  readonly #bytes = new Counter({ name: 'nectar_worker_bytes_total', help: 'Bytes written to destinations', registers: [this.registry] });
  readonly #failures = new Counter({ name: 'nectar_worker_failures_total', help: 'Failed requests, by error code', labelNames: ['code'], registers: [this.registry] });
  readonly #inFlight = new Gauge({ name: 'nectar_worker_host_in_flight', help: 'Requests in flight, by host', labelNames: ['host'], registers: [this.registry] });
  readonly #requests = new Counter({ name: 'nectar_worker_host_requests_total', help: 'Attempts sent, by host (retries included)', labelNames: ['host'], registers: [this.registry] });

  constructor(workerId: string) {
    this.registry.setDefaultLabels({ worker: workerId });
  }

  /** One attempt goes out to a host; the returned function marks it done. */
  requestStarted(host: string): () => void {
    this.#requests.inc({ host });
    this.#inFlight.inc({ host });
    return () => this.#inFlight.dec({ host });
  }

  finished(state: string, bytes: number, code?: string): void {
    this.#downloads.inc({ state });
    if (bytes > 0) this.#bytes.inc(bytes);
    if (state === 'failed') this.#failures.inc({ code: code ?? 'unknown' });
  }

  /** Serves `/metrics` on the given address (loopback by default); resolves once listening. */
  async serve(port: number, host = '127.0.0.1'): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.url !== '/metrics') {
        response.writeHead(404).end();
        return;
      }
      void this.registry.metrics().then((text) => response.writeHead(200, { 'content-type': this.registry.contentType }).end(text));
    });
    server.listen(port, host);
    await once(server, 'listening');
    return server;
  }
}
