import { DownloadReport, type DownloadReportJSON } from '@nectar/core';
import type { StoredAt } from './job-data.js';

export interface QueueReportJSON<D = unknown> extends DownloadReportJSON<D> {
  jobId: string | null;
  run: string | null;
  alreadyPresent: boolean;
  storedAt: StoredAt | null;
}

/**
 * A report of a request run by a worker: core's report plus where the file is (which worker,
 * which path, shared or local storage), whether it was already there, and the job that ran it.
 */
export class QueueReport<D = unknown> extends DownloadReport<D> {
  jobId: string | null = null;
  /** The run (one download()/stream() call) this request belongs to: `nectar queue status RUN`. */
  run: string | null = null;
  /** The destination already held the expected digest: nothing was downloaded. */
  alreadyPresent = false;
  /** Set when succeeded. */
  storedAt: StoredAt | null = null;

  override toJSON(): QueueReportJSON<D> {
    return { ...super.toJSON(), jobId: this.jobId, run: this.run, alreadyPresent: this.alreadyPresent, storedAt: this.storedAt };
  }
}
