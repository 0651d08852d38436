import type { DownloaderConfigOptions, DownloadReportJSON, ExpectedDigest } from '@nectar/core';

/**
 * One request as it travels in Redis: plain, non-secret data. The caller's `data` stays with the
 * producer (it may be large or private); credentials travel as a name the worker resolves.
 */
export interface JobRequest {
  url: string;
  destination: string;
  mirrors?: string[];
  headers?: Record<string, string>;
  expectedSize?: number;
  expectedDigest?: ExpectedDigest;
  /** The id of a credential each worker resolves from its own configuration. */
  credential?: string;
}

/** Transfer settings of the producer's config that a worker applies to this job's requests. */
export const profileFields = [
  'connectTimeout',
  'headersTimeout',
  'bodyTimeout',
  'requestTimeout',
  'retries',
  'retryDelay',
  'retryMaxDelay',
  'retryAfterMax',
  'maxFileSize',
  'maxRedirects',
  'redirectHeaders',
  'decompress',
  'userAgent',
  'minSpeed',
  'minSpeedTime',
] as const satisfies ReadonlyArray<keyof DownloaderConfigOptions>;

export type TransferProfile = Partial<Pick<DownloaderConfigOptions, (typeof profileFields)[number]>>;

export interface JobData {
  v: 1;
  /** The producer's run (one download()/stream() call): canceling it cancels all its jobs. */
  run: string;
  profile: TransferProfile;
  requests: JobRequest[];
}

/** Where a finished file is, as the worker saw it. */
export interface StoredAt {
  worker: string;
  storage: 'shared' | 'local';
  path: string;
}

/** A request's final report as the worker sends it back (the JSON form, without `data`). */
export interface WireReport extends Omit<DownloadReportJSON, 'data' | 'url' | 'destination'> {
  /** The destination already held the expected digest: nothing was downloaded. */
  alreadyPresent: boolean;
  storedAt: StoredAt | null;
}

/** What a worker reports while a job runs; bounded in rate by the worker. */
export interface WireProgress {
  state: 'waiting' | 'downloading' | 'succeeded' | 'failed' | 'canceled';
  bytesDownloaded: number;
  totalBytes: number | null;
  startTime: string | null;
  attempts: number;
}

export interface JobProgressData {
  worker: string;
  requests: WireProgress[];
}

export interface JobResult {
  worker: string;
  /** The run the job was executed for: a producer of another run adopted it, and checks it again. */
  run?: string;
  reports: WireReport[];
}

export const jobName = 'download';

export function isJobResult(value: unknown): value is JobResult {
  const result = value as Partial<JobResult> | null;
  return typeof result === 'object' && result !== null && typeof result.worker === 'string' && Array.isArray(result.reports);
}

export function isJobProgress(value: unknown): value is JobProgressData {
  const progress = value as Partial<JobProgressData> | null;
  return typeof progress === 'object' && progress !== null && Array.isArray(progress.requests);
}
