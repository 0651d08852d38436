import { NectarError } from '@nectar/core/backend';
import type { WireReport } from './job-data.js';
import type { Outgoing } from './producer.js';
import type { QueueReport } from './queue-report.js';

/** A request of one producer, from enqueue to its outcome. */
export interface Entry extends Outgoing {
  readonly report: QueueReport;
  /** The engine's `run.started()`: fires downloadStarted once. */
  readonly started: (at?: Date) => void;
  settled: boolean;
  canceling: boolean;
  requeues: number;
  grace?: NodeJS.Timeout;
  /** Ends runRequest(): without an error it succeeded; the engine fires the terminal event. */
  settle(error?: NectarError): void;
}

export function canceled(): NectarError {
  return new NectarError('NECTAR_CANCELED', 'canceled');
}

/**
 * An operator drained the request's host queue while its run waited there: the request fails
 * (the caller did not cancel it), with the cancel code and `drained: true` in its errorReport.
 */
export function drainedError(queueName: string, at: string): NectarError {
  return new NectarError('NECTAR_CANCELED', `removed from host queue ${queueName} by an operator's drain (nectar queue drain) at ${at}; not enqueued again`, {
    details: { drained: true, queue: queueName, drainedAt: at },
  });
}

export function isDrainedError(error: NectarError): boolean {
  return error.code === 'NECTAR_CANCELED' && error.details.drained === true;
}

/** A worker's clock may run ahead of ours: a start is never later than now. */
export function workerTime(time: string | null): Date {
  const now = Date.now();
  return new Date(time === null ? now : Math.min(Date.parse(time), now));
}

/** The worker's final report onto ours: resolves a success, throws a failure as core's error. */
export function settleFromWire(entry: Entry, wire: WireReport): void {
  if (entry.settled) return;
  const { report } = entry;
  if (wire.startTime !== null) entry.started(workerTime(wire.startTime));
  if (wire.state === 'canceled') {
    entry.settle(canceled());
    return;
  }
  report.totalBytes = wire.totalBytes;
  report.bytesDownloaded = wire.bytesDownloaded;
  report.attempts = wire.attempts;
  report.finalUrl = wire.finalUrl;
  // A worker of an older release sends no outcome.
  report.outcome = wire.state === 'succeeded' ? (wire.outcome ?? null) : null;
  report.storedAt = wire.storedAt;
  if (wire.state === 'succeeded') {
    report.alreadyPresent = wire.alreadyPresent;
    entry.settle();
  } else {
    entry.settle(errorOf(wire.errorReport));
  }
}

/** A worker's errorReport as the error it was: the engine rebuilds core's errorReport from it. */
function errorOf(errorReport: Record<string, unknown>): NectarError {
  const { message, code, url: _url, attempts: _attempts, cause, ...details } = errorReport;
  return new NectarError(
    (typeof code === 'string' ? code : 'NECTAR_BACKEND') as NectarError['code'],
    typeof message === 'string' ? message : 'the worker reported a failure',
    { details, ...(typeof cause === 'string' ? { cause: new Error(cause) } : {}) },
  );
}
