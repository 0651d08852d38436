import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DownloadRequest, type NectarError, Redactor, redactUrl, toNectarError } from '@nectar/core/backend';
import { type CredentialStore, checkCredentialOrigins, credentialHeaders, credentialSecrets, credentialUrl } from './credentials.js';
import type { JobData, JobRequest, StoredAt, WireProgress, WireReport } from './job-data.js';
import type { Lease } from './job-fetcher.js';
import { jobIdOf } from './job-id.js';
import type { LocalReport, ProfilePool, RequestTag } from './profile-pool.js';
import type { ProgressForwarder } from './progress-forwarder.js';
import type { StageRegistry } from './stage-registry.js';
import { checkDestination, commitStage, stagePath } from './staging.js';
import type { StoredFiles } from './stored-files.js';

export type StorageMode = { mode: 'shared' } | { mode: 'local'; root?: string };

/** What running one job needs from its worker. */
export interface JobContext {
  readonly jobId: string;
  readonly workerId: string;
  readonly fileId: string;
  readonly storage: StorageMode;
  readonly fsync: boolean;
  readonly credentials: CredentialStore;
  readonly pool: ProfilePool;
  readonly progress: ProgressForwarder;
  readonly lease: Lease;
  readonly stages: StageRegistry;
  readonly stored: StoredFiles;
  /** Aborts one request (or all) when the producer that owns the job cancels. */
  readonly canceled: (index: number) => AbortSignal;
}

/** This execution lost its job to another worker: nothing it did may be committed or reported. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
}

/**
 * Runs a job's requests one after another: a job is one host's work, and the host's concurrency
 * limit counts jobs, so a batch must not open several connections at once.
 */
export async function runJob(data: JobData, ctx: JobContext): Promise<WireReport[]> {
  const reports: WireReport[] = [];
  for (const [index, request] of data.requests.entries()) {
    if (ctx.lease.lost.aborted) throw new LeaseLostError(`job ${ctx.jobId} was taken over`);
    const signal = AbortSignal.any([ctx.canceled(index), ctx.lease.lost]);
    reports.push(signal.aborted ? canceledBeforeStart() : await runRequest(data, request, index, signal, ctx));
  }
  if (ctx.lease.lost.aborted) throw new LeaseLostError(`job ${ctx.jobId} was taken over`);
  return reports;
}

async function runRequest(data: JobData, request: JobRequest, index: number, signal: AbortSignal, ctx: JobContext): Promise<WireReport> {
  const destination = storedPath(request.destination, ctx.storage);
  const storedAt: StoredAt = { worker: ctx.workerId, storage: ctx.storage.mode, path: destination };
  const startTime = new Date();
  try {
    ctx.progress.update(index, { state: 'downloading', bytesDownloaded: 0, totalBytes: null, startTime: startTime.toISOString(), attempts: 0 });
    const present = await alreadyPresent(request, destination, ctx.stored);
    if (present !== null) return { ...present, startTime: startTime.toISOString(), finishTime: new Date().toISOString(), storedAt };
    return await download(data, request, index, destination, signal, ctx, storedAt);
  } catch (error) {
    if (error instanceof LeaseLostError) throw error;
    return failedBeforeTransfer(toNectarError(error), request, startTime, storedAt);
  }
}

async function download(data: JobData, request: JobRequest, index: number, destination: string, signal: AbortSignal, ctx: JobContext, storedAt: StoredAt): Promise<WireReport> {
  await checkDestination(destination);
  const resolved = resolveCredential(request, ctx);
  const stage = stagePath(destination, ctx.fileId);
  const tag: RequestTag = { onProgress: (r) => ctx.progress.update(index, progressOf(r)) };
  const local = new DownloadRequest(resolved.url, stage, {
    data: tag,
    headers: resolved.headers,
    signal,
    mirrors: request.mirrors ?? [],
    ...(request.expectedSize === undefined ? {} : { expectedSize: request.expectedSize }),
    ...(request.expectedDigest === undefined ? {} : { expectedDigest: request.expectedDigest }),
  });
  // Recorded before the first byte: whoever takes the job over removes it by name.
  await ctx.stages.add(ctx.jobId, stage);
  const [report] = await ctx.pool.with(data.profile, (d) => d.download([local]));
  if (report === undefined) return canceledBeforeStart();
  if (report.state === 'succeeded') {
    const failed = await commit(stage, destination, request, ctx);
    if (failed !== null) return resolved.mask({ ...wireOf(report as LocalReport, storedAt), state: 'failed', storedAt: null, errorReport: errorReportOf(failed, request.url, report.attempts) });
  }
  await ctx.stages.remove(ctx.jobId, stage).catch(() => {});
  return resolved.mask(wireOf(report as LocalReport, storedAt, destination));
}

/**
 * Fencing: the stage goes over the destination only while this execution still holds the job,
 * checked (and the lock renewed) right before the rename. A worker that froze past its lock
 * finds another one owns the job, removes its stage and reports nothing.
 */
async function commit(stage: string, destination: string, request: JobRequest, ctx: JobContext): Promise<NectarError | null> {
  if (!(await ctx.lease.holds())) {
    await unlink(stage).catch(() => {});
    await ctx.stages.remove(ctx.jobId, stage).catch(() => {});
    throw new LeaseLostError(`job ${ctx.jobId} was taken over before ${destination} was committed`);
  }
  try {
    await commitStage(stage, destination, ctx.fsync);
  } catch (error) {
    return toNectarError(error);
  }
  await ctx.stored.record(jobIdOf([request]), destination).catch(() => {});
  return null;
}

/** A credential's headers and query parameters, added here; they are masked in what goes back. */
function resolveCredential(request: JobRequest, ctx: JobContext): { url: string; headers: Record<string, string>; mask(wire: WireReport): WireReport } {
  if (request.credential === undefined) return { url: request.url, headers: { ...request.headers }, mask: (wire) => wire };
  // A mirror is where the credential may go too, if core's rule lets it (the same origin, or trustRedirects).
  checkCredentialOrigins(ctx.credentials, request.credential, ctx.workerId, [request.url, ...(request.mirrors ?? [])]);
  const added = credentialHeaders(ctx.credentials, request.credential, ctx.workerId, request.url);
  const url = credentialUrl(ctx.credentials, request.credential, ctx.workerId, request.url);
  const redactor = new Redactor(credentialSecrets(ctx.credentials, request.credential));
  return { url, headers: { ...request.headers, ...added }, mask: (wire) => redactor.value(wire) as WireReport };
}

/**
 * Local storage re-roots destinations under the worker's own folder, and never lets one out of
 * it: job data comes from Redis, and `/../../etc/x` or a relative path must land inside too.
 */
function storedPath(destination: string, storage: StorageMode): string {
  if (storage.mode === 'local' && storage.root !== undefined) return join(storage.root, resolve('/', destination));
  return destination;
}

type PresentReport = Omit<WireReport, 'startTime' | 'finishTime' | 'storedAt'>;

/**
 * Not downloaded again: a destination this farm stored for the same request and that nobody
 * changed since (same size and modification time), or one that holds the expected digest.
 */
async function alreadyPresent(request: JobRequest, destination: string, stored: StoredFiles): Promise<PresentReport | null> {
  const size = await stored.unchanged(jobIdOf([request]), destination).catch(() => null);
  if (size !== null && (request.expectedDigest === undefined || (await hasDigest(request, destination)))) return presentReport(size);
  if (request.expectedDigest === undefined) return null;
  return (await hasDigest(request, destination)) ? presentReport((await stat(destination)).size) : null;
}

function presentReport(size: number): PresentReport {
  // A copy on disk with the expected digest: nothing was fetched, as core's trusted-digest 'unchanged'.
  return { state: 'succeeded', totalBytes: size, bytesDownloaded: size, errorReport: {}, finalUrl: null, attempts: 0, outcome: 'unchanged', alreadyPresent: true };
}

async function hasDigest(request: JobRequest, destination: string): Promise<boolean> {
  const expected = request.expectedDigest;
  if (expected === undefined) return false;
  const info = await stat(destination).catch(() => null);
  if (info === null || !info.isFile()) return false;
  if (request.expectedSize !== undefined && info.size !== request.expectedSize) return false;
  const hash = createHash(expected.algorithm);
  for await (const chunk of createReadStream(destination)) hash.update(chunk as Buffer);
  return hash.digest('hex') === expected.value;
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
    outcome: json.outcome,
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
    outcome: null,
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
    outcome: null,
    alreadyPresent: false,
    storedAt: null,
  };
}
