import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { DownloadRequest, type NectarError, redactUrl, type ConcurrencyLimit, toNectarError } from '@nectar/core/backend';
import { type CredentialStore, credentialHeaders } from './credentials.js';
import type { JobData, JobRequest, StoredAt, WireProgress, WireReport } from './job-data.js';
import type { LocalReport, ProfilePool, RequestTag } from './profile-pool.js';
import type { ProgressForwarder } from './progress-forwarder.js';
import { checkDestination, commitStage, stagePath } from './staging.js';

export type StorageMode = { mode: 'shared' } | { mode: 'local'; root?: string };

/** What running one job needs from its worker. */
export interface JobContext {
  readonly workerId: string;
  readonly fileId: string;
  readonly storage: StorageMode;
  readonly fsync: boolean;
  readonly credentials: CredentialStore;
  readonly pool: ProfilePool;
  readonly slots: ConcurrencyLimit;
  readonly progress: ProgressForwarder;
  /** Aborts one request (or all, for index -1) when the producer cancels. */
  readonly canceled: (index: number) => AbortSignal;
}

/**
 * Runs a job's requests one after another: a job is one host's work, and the host's concurrency
 * limit counts jobs, so a batch must not open several connections at once.
 */
export async function runJob(data: JobData, ctx: JobContext): Promise<WireReport[]> {
  const reports: WireReport[] = [];
  for (const [index, request] of data.requests.entries()) {
    const signal = ctx.canceled(index);
    reports.push(signal.aborted ? canceledBeforeStart() : await runRequest(data, request, index, signal, ctx));
  }
  return reports;
}

async function runRequest(data: JobData, request: JobRequest, index: number, signal: AbortSignal, ctx: JobContext): Promise<WireReport> {
  const destination = storedPath(request.destination, ctx.storage);
  const storedAt: StoredAt = { worker: ctx.workerId, storage: ctx.storage.mode, path: destination };
  const startTime = new Date();
  if (!(await ctx.slots.acquire(signal))) return canceledBeforeStart();
  try {
    ctx.progress.update(index, { state: 'downloading', bytesDownloaded: 0, totalBytes: null, startTime: startTime.toISOString(), attempts: 0 });
    const present = await alreadyPresent(request, destination);
    if (present !== null) return { ...present, startTime: startTime.toISOString(), finishTime: new Date().toISOString(), storedAt };
    return await download(data, request, index, destination, signal, ctx, storedAt);
  } catch (error) {
    return failedBeforeTransfer(toNectarError(error), request, startTime, storedAt);
  } finally {
    ctx.slots.release();
  }
}

async function download(data: JobData, request: JobRequest, index: number, destination: string, signal: AbortSignal, ctx: JobContext, storedAt: StoredAt): Promise<WireReport> {
  await checkDestination(destination);
  const headers = { ...request.headers, ...(request.credential === undefined ? {} : credentialHeaders(ctx.credentials, request.credential, ctx.workerId)) };
  const stage = stagePath(destination, ctx.fileId);
  const tag: RequestTag = { onProgress: (r) => ctx.progress.update(index, progressOf(r)) };
  const local = new DownloadRequest(request.url, stage, {
    data: tag,
    headers,
    signal,
    mirrors: request.mirrors ?? [],
    ...(request.expectedSize === undefined ? {} : { expectedSize: request.expectedSize }),
    ...(request.expectedDigest === undefined ? {} : { expectedDigest: request.expectedDigest }),
  });
  const [report] = await ctx.pool.with(data.profile, (d) => d.download([local]));
  if (report === undefined) return canceledBeforeStart();
  if (report.state === 'succeeded') {
    try {
      await commitStage(stage, destination, ctx.fsync);
    } catch (error) {
      return { ...wireOf(report as LocalReport, storedAt), state: 'failed', errorReport: errorReportOf(toNectarError(error), request.url, report.attempts) };
    }
  }
  return wireOf(report as LocalReport, storedAt, destination);
}

/** Local storage may re-root absolute destinations under the worker's own folder. */
function storedPath(destination: string, storage: StorageMode): string {
  if (storage.mode === 'local' && storage.root !== undefined && isAbsolute(destination)) return join(storage.root, destination);
  return destination;
}

/** A destination that already holds the expected digest is not downloaded again. */
async function alreadyPresent(request: JobRequest, destination: string): Promise<Omit<WireReport, 'startTime' | 'finishTime' | 'storedAt'> | null> {
  const expected = request.expectedDigest;
  if (expected === undefined) return null;
  const info = await stat(destination).catch(() => null);
  if (info === null || !info.isFile()) return null;
  if (request.expectedSize !== undefined && info.size !== request.expectedSize) return null;
  const hash = createHash(expected.algorithm);
  for await (const chunk of createReadStream(destination)) hash.update(chunk as Buffer);
  if (hash.digest('hex') !== expected.value) return null;
  return { state: 'succeeded', totalBytes: info.size, bytesDownloaded: info.size, errorReport: {}, finalUrl: null, attempts: 0, alreadyPresent: true };
}

function progressOf(report: LocalReport): WireProgress {
  return {
    state: report.state,
    bytesDownloaded: report.bytesDownloaded,
    totalBytes: report.totalBytes,
    startTime: report.startTime?.toISOString() ?? null,
    attempts: report.attempts,
  };
}

function wireOf(report: LocalReport, storedAt: StoredAt, destination?: string): WireReport {
  const json = report.toJSON();
  return {
    state: json.state,
    totalBytes: json.totalBytes,
    bytesDownloaded: json.bytesDownloaded,
    startTime: json.startTime,
    finishTime: json.finishTime,
    errorReport: renameStage(json.errorReport, destination ?? storedAt.path),
    finalUrl: json.finalUrl,
    attempts: json.attempts,
    alreadyPresent: false,
    storedAt: json.state === 'succeeded' ? storedAt : null,
  };
}

/** Errors about the stage file name the destination the caller asked for. */
function renameStage(errorReport: Record<string, unknown>, destination: string): Record<string, unknown> {
  if (errorReport.code !== 'NECTAR_DESTINATION') return errorReport;
  return { ...errorReport, message: `cannot write ${destination}: ${String(errorReport.message)}`, destination };
}

function failedBeforeTransfer(error: NectarError, request: JobRequest, startTime: Date, storedAt: StoredAt): WireReport {
  return {
    state: 'failed',
    totalBytes: null,
    bytesDownloaded: 0,
    startTime: startTime.toISOString(),
    finishTime: new Date().toISOString(),
    errorReport: renameStage(errorReportOf(error, request.url, 0), storedAt.path),
    finalUrl: null,
    attempts: 0,
    alreadyPresent: false,
    storedAt: null,
  };
}

function errorReportOf(error: NectarError, url: string, attempts: number): Record<string, unknown> {
  const report: Record<string, unknown> = { message: error.message, code: error.code, url: redactUrl(url), ...error.details, attempts };
  // As core's errorReport: the underlying error's message when it adds something.
  if (error.cause instanceof Error && error.cause.message !== error.message) report.cause = error.cause.message;
  return report;
}

export function canceledBeforeStart(): WireReport {
  return {
    state: 'canceled',
    totalBytes: null,
    bytesDownloaded: 0,
    startTime: null,
    finishTime: new Date().toISOString(),
    errorReport: {},
    finalUrl: null,
    attempts: 0,
    alreadyPresent: false,
    storedAt: null,
  };
}
