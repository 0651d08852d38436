import { type Backend, type TransferJob, withTransfer } from '@nectar/core/backend';
import { NectarError } from '@nectar/core';
import type { HostGate } from './host-gate.js';
import type { WorkerMetrics } from './metrics.js';
import { hostOf } from './naming.js';

/** Statuses by which an origin asks its clients to slow down. */
const slowDownStatus = new Set([429, 503]);

/** Without a Retry-After, a 429/503 holds the host back this long. */
const defaultSlowDownMs = 1000;

/**
 * Wraps a registry's router so that every attempt of every request, retries included, goes
 * through the host gate right before the backend connects, and a 429/503 slows the host down
 * farm-wide. Routed backends are wrapped once each: the engine opens a backend by identity.
 */
export function gatedRouter(router: Backend, gate: HostGate, metrics: WorkerMetrics | null): Backend {
  const wrapped = new WeakMap<Backend, Backend>();
  const route = router.route;
  if (route === undefined) return gated(router, gate, metrics);
  return {
    name: router.name,
    get schemes() {
      return router.schemes;
    },
    get supports() {
      return router.supports;
    },
    transfer: (job) => router.transfer(job),
    close: async () => router.close?.(),
    async route(url) {
      const backend = await route.call(router, url);
      let view = wrapped.get(backend);
      if (view === undefined) {
        view = gated(backend, gate, metrics);
        wrapped.set(backend, view);
      }
      return view;
    },
  };
}

function gated(backend: Backend, gate: HostGate, metrics: WorkerMetrics | null): Backend {
  return withTransfer(backend, (job) => gatedTransfer(backend, job, gate, metrics));
}

async function gatedTransfer(backend: Backend, job: TransferJob, gate: HostGate, metrics: WorkerMetrics | null): Promise<void> {
  const host = hostOf(job.url.href);
  await gate.take(host, job.signal);
  const done = metrics?.requestStarted(host);
  try {
    await backend.transfer(job);
  } catch (error) {
    const status = error instanceof NectarError ? error.details.status : undefined;
    if (typeof status === 'number' && slowDownStatus.has(status)) {
      const asked = (error as NectarError).details.retryAfter;
      await gate.slowDown(host, typeof asked === 'number' ? asked : defaultSlowDownMs);
    }
    throw error;
  } finally {
    done?.();
  }
}
