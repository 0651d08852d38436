import { NectarError, redactUrl } from '@nectar/core/backend';
import type { Redis } from 'ioredis';
import type { DrainMarks } from './drain-marks.js';
import type { JobProgressData, JobResult } from './job-data.js';
import type { JobWatcher } from './job-watcher.js';
import type { ClusterKeys } from './naming.js';
import type { Enqueuer, OutgoingJob } from './producer.js';
import type { QueueReport } from './queue-report.js';
import { canceled, drainedError, type Entry, settleFromWire, workerTime } from './request-entry.js';
import type { StageRegistry } from './stage-registry.js';

/** What following a producer's jobs needs from the producer. */
export interface TrackerParts {
  readonly redis: Redis;
  readonly keys: ClusterKeys;
  readonly enqueuer: Enqueuer<Entry>;
  readonly watcher: JobWatcher;
  readonly stages: StageRegistry;
  readonly drains: DrainMarks;
  /** How long a cancel waits for the worker to clean up before settling anyway (ms). */
  readonly cancelGrace: number;
  /** Keeps a write (a cancel marker) that close() must wait for. */
  mark(write: Promise<unknown>): void;
  /** Fires downloadProgress for a report. */
  progressed(report: QueueReport): void;
}

/**
 * A producer's jobs from the moment they are in Redis to their end: progress, completion,
 * failure, loss (added again) and drain (failed), and the producer's cancels of them. A job
 * another run created is never adopted: its requests run again in a job of this run.
 */
export class JobTracker {
  readonly #p: TrackerParts;

  constructor(parts: TrackerParts) {
    this.#p = parts;
  }

  /** Called once a job is in Redis: follow it to its end. */
  track(job: OutgoingJob<Entry>): void {
    for (const entry of job.entries) entry.report.jobId = job.id;
    this.#p.watcher.watch(job.queueName, job.id, {
      progress: (p) => this.#progress(job, p),
      completed: (r) => this.#completed(job, r),
      failed: (reason, run) => this.#failed(job, reason, run),
      gone: () => void this.#gone(job),
    });
    if (job.entries.some((e) => e.canceling)) this.#sendCancels(job);
  }

  /** An operator drained the job's run from its host queue: its requests fail, not added again. */
  drained(job: OutgoingJob<Entry>, at: string): void {
    this.#p.watcher.unwatch(job.id);
    const error = drainedError(job.queueName, at);
    for (const entry of job.entries) entry.settle(entry.canceling ? canceled() : error);
  }

  cancel(entry: Entry): void {
    if (entry.settled || entry.canceling) return;
    entry.canceling = true;
    const { enqueuer } = this.#p;
    if (entry.job === undefined) {
      if (enqueuer.withdraw(entry)) entry.settle(canceled());
      return;
    }
    const job = entry.job as OutgoingJob<Entry>;
    // Still in the outbox (its host queue is full): nothing in Redis to stop.
    if (!job.added && job.entries.every((e) => e.canceling || e.settled) && enqueuer.withdrawJob(job)) {
      for (const e of job.entries) e.settle(canceled());
      return;
    }
    // The worker cleans up and reports; if it cannot (gone, stopped), settle anyway.
    entry.grace = setTimeout(() => entry.settle(canceled()), this.#p.cancelGrace);
    this.#sendCancels(job);
  }

  #progress(job: OutgoingJob<Entry>, progress: JobProgressData): void {
    progress.requests.forEach((p, i) => {
      const entry = job.entries[i];
      if (entry === undefined || entry.settled || p.state === 'waiting') return;
      entry.started(workerTime(p.startTime));
      const { report } = entry;
      if (report.bytesDownloaded === p.bytesDownloaded && report.totalBytes === p.totalBytes) return;
      // A whole body is about to be renamed into place; the final progress at settle says it.
      if (p.totalBytes !== null && p.bytesDownloaded === p.totalBytes && p.totalBytes > 0) return;
      report.bytesDownloaded = p.bytesDownloaded;
      report.totalBytes = p.totalBytes;
      report.attempts = p.attempts;
      this.#p.progressed(report);
    });
  }

  #completed(job: OutgoingJob<Entry>, result: JobResult): void {
    this.#p.watcher.unwatch(job.id);
    const live = job.entries.filter((e) => !e.settled);
    // Another run's job (same requests, enqueued earlier): its outcome is not ours to report. A
    // job of our own runs them again, and the worker answers from the file if it is intact.
    if (result.run !== job.data.run && live.length > 0) {
      this.#p.enqueuer.recheck(job, live);
      return;
    }
    job.entries.forEach((entry, i) => {
      const wire = result.reports[i];
      if (wire === undefined) entry.settle(new NectarError('NECTAR_BACKEND', `job ${job.id} returned no report for ${redactUrl(entry.wire.url)}`, { details: { jobId: job.id } }));
      else settleFromWire(entry, wire);
    });
    // Only a wholly successful job is kept for dedup: anything else must run again if asked again.
    if (!result.reports.every((r) => r.state === 'succeeded')) void this.#p.enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  #failed(job: OutgoingJob<Entry>, reason: string, run: string | undefined): void {
    this.#p.watcher.unwatch(job.id);
    const live = job.entries.filter((e) => !e.settled);
    // Another run's job failed in the queue: never adopted, ours runs them again.
    if (run !== job.data.run && live.length > 0) {
      this.#p.enqueuer.recheck(job, live);
      return;
    }
    const error = new NectarError('NECTAR_BACKEND', `job ${job.id} failed in the queue: ${reason}`, { details: { jobId: job.id } });
    for (const entry of job.entries) entry.settle(error);
    void this.#p.enqueuer.queue(job.queueName).remove(job.id).catch(() => {});
  }

  /**
   * The job is not in Redis any more. An operator's drain took it: its requests fail. Else Redis
   * lost it (a restart without persistence, eviction): add it again, a few times.
   */
  async #gone(job: OutgoingJob<Entry>): Promise<void> {
    this.#p.watcher.unwatch(job.id);
    const live = job.entries.filter((e) => !e.settled);
    const first = live[0];
    if (first === undefined) return;
    if (live.every((e) => e.canceling)) {
      for (const entry of live) entry.settle(canceled());
      return;
    }
    // Unreadable marks (Redis away) count as none: the job is added again, as before drains existed.
    const drainedAt = await this.#p.drains.tookJob(job.data.run, job.queueName, job.id).catch(() => null);
    if (drainedAt !== null) return this.drained(job, drainedAt);
    if (first.requeues >= 3) {
      const error = new NectarError('NECTAR_BACKEND', `job ${job.id} vanished from Redis ${first.requeues} times`, { details: { jobId: job.id } });
      for (const entry of live) entry.settle(error);
      return;
    }
    for (const entry of live) entry.requeues++;
    this.#p.enqueuer.resend(job);
  }

  /** Removes a job nobody has started, else tells its worker which requests to drop. */
  #sendCancels(job: OutgoingJob<Entry>): void {
    queueMicrotask(async () => {
      const canceling = job.entries.filter((e) => e.canceling && !e.settled);
      if (canceling.length === 0) return;
      const whole = job.entries.every((e) => e.canceling || e.settled);
      const { enqueuer, watcher, keys, redis } = this.#p;
      try {
        const queue = enqueuer.queue(job.queueName);
        const stored = await queue.getJob(job.id);
        // Adopted from another run: that run still wants it; we only stop waiting for it.
        if (stored !== undefined && (stored.data as { run?: unknown }).run !== job.data.run) {
          watcher.unwatch(job.id);
          for (const entry of canceling) entry.settle(canceled());
          return;
        }
        if (whole && (await queue.remove(job.id)) === 1) {
          watcher.unwatch(job.id);
          for (const entry of canceling) entry.settle(canceled());
          // A worker that died on this job may have left stage files: they go with the job.
          await this.#p.stages.clearEarlier(job.id);
          return;
        }
        const key = keys.canceledJob(job.id, job.data.run);
        const members = whole ? ['*'] : canceling.map((e) => String(e.index));
        const write = redis.multi().sadd(key, ...members).expire(key, 86_400).exec();
        this.#p.mark(write);
        await write;
        await watcher.check(job.id);
      } catch {
        // Redis unreachable: the grace timer settles these requests.
      }
    });
  }
}
