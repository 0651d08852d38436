import { utimes } from 'node:fs/promises';
import type { ResolvedConfig } from '../config.js';
import { type TransferContext, type TransferResult, runTransfer } from '../engine/attempts.js';
import { type Validators, httpDate } from '../http/conditional.js';
import type { DownloadOutcome } from '../report.js';
import type { DownloadRequest } from '../request.js';
import { type DiskCopy, diskCopy, hasDigest, matchesRecord } from './disk-copy.js';
import { reuseCopy } from './reuse.js';
import { type StateRecord, type StateStore, digestKey } from './store.js';

/** How far a copy the store vouches for is trusted to hold an `expectedDigest` (config.verifyUnchanged). */
export type VerifyUnchanged = 'stat' | 'digest' | 'request';

/**
 * One request against what is known of its destination: skipped when the copy on disk is
 * trusted to hold the expected digest, reused from another copy of the same bytes, sent
 * conditional when the copy is the one recorded (or, with `ifModifiedSince`, by its mtime), and
 * recorded once it succeeded. Without a store or those options it is a plain transfer.
 */
export async function resyncTransfer<D>(ctx: TransferContext<D>, store: StateStore | null): Promise<void> {
  const { request, report, settings } = ctx;
  const destination = request.destination;
  if (typeof destination !== 'string' || !resyncs(settings, store)) {
    report.outcome = (await runTransfer(ctx)).outcome;
    return;
  }
  await ctx.route(new URL(request.url));
  const record = await store?.get(destination);
  const copy = await diskCopy(destination);
  const intact = record !== undefined && matchesRecord(record, copy) ? copy : null;
  // A record made for another URL says nothing about what this one serves.
  const known = record !== undefined && intact !== null && record.url === ctx.redactor.url(request.url) ? record : undefined;
  if (known !== undefined && intact !== null && (await trusted(request, known, destination, settings.verifyUnchanged ?? 'stat'))) {
    return settle(ctx, 'unchanged', intact);
  }
  if (request.expectedDigest !== undefined && known === undefined) {
    const reused = await reuseCopy(destination, request.expectedDigest, store, settings.reuseFrom ?? []);
    if (reused !== null) {
      await remember(ctx, store, reused, 'reused', null);
      return settle(ctx, 'reused', reused);
    }
  }
  const conditional = known !== undefined && digestAgrees(request, known) ? recorded(known) : byMtime(settings, copy);
  const result = await runTransfer({ ...ctx, conditional, resumable: store !== null });
  report.outcome = result.outcome;
  if (result.outcome === 'unchanged') report.totalBytes = intact?.size ?? copy?.size ?? null;
  if (settings.ifModifiedSince === true && result.outcome !== 'unchanged') await stampServerTime(result.placedAt ?? destination, result.validators);
  // A file committed elsewhere by config.afterHeaders is not what this destination's record describes.
  if (result.placedAt !== null) return;
  const written = await diskCopy(destination);
  if (written !== null) await remember(ctx, store, written, result.outcome, known, result);
}

function resyncs(settings: ResolvedConfig, store: StateStore | null): boolean {
  return store !== null || settings.ifModifiedSince === true || (settings.reuseFrom?.length ?? 0) > 0;
}

/**
 * A recorded copy still on disk with the recorded size and mtime, whose recorded digest is the
 * one the request expects: 'stat' believes it, 'digest' reads it first, 'request' always asks.
 */
async function trusted(request: DownloadRequest, record: StateRecord, path: string, verify: VerifyUnchanged): Promise<boolean> {
  const expected = request.expectedDigest;
  if (expected === undefined || verify === 'request' || record.digest !== digestKey(expected)) return false;
  return verify === 'stat' || (await hasDigest(path, expected));
}

/** A copy known to hold other bytes than the expected ones is not worth a conditional request. */
function digestAgrees(request: DownloadRequest, record: StateRecord): boolean {
  return request.expectedDigest === undefined || record.digest === null || record.digest === digestKey(request.expectedDigest);
}

function recorded(record: StateRecord): Validators | null {
  return record.etag === null && record.lastModified === null ? null : { etag: record.etag, lastModified: record.lastModified };
}

/** wget -N without a store: "newer than my copy?", asked with the copy's own mtime. */
function byMtime(settings: ResolvedConfig, copy: DiskCopy | null): Validators | null {
  return settings.ifModifiedSince === true && copy !== null ? { etag: null, lastModified: httpDate(copy.mtimeMs) } : null;
}

/** With ifModifiedSince the file takes the server's Last-Modified, as wget -N and curl -R do: the next ask compares like with like. */
async function stampServerTime(path: string, validators: Validators): Promise<void> {
  const time = validators.lastModified === null ? Number.NaN : Date.parse(validators.lastModified);
  if (!Number.isNaN(time)) await utimes(path, new Date(), new Date(time)).catch(() => {});
}

function settle<D>(ctx: TransferContext<D>, outcome: DownloadOutcome, copy: DiskCopy): void {
  ctx.report.outcome = outcome;
  ctx.report.totalBytes = copy.size;
  ctx.report.bytesDownloaded = 0;
}

/**
 * Writes what is now known of the destination. A store that fails to write costs the next run a
 * full request, never this one its file: the failure is a warning.
 */
async function remember<D>(
  ctx: TransferContext<D>,
  store: StateStore | null,
  copy: DiskCopy,
  outcome: DownloadOutcome,
  before: StateRecord | undefined | null,
  result?: TransferResult,
): Promise<void> {
  if (store === null || typeof ctx.request.destination !== 'string') return;
  const expected = ctx.request.expectedDigest;
  const record: StateRecord = {
    destination: ctx.request.destination,
    url: ctx.redactor.url(ctx.request.url),
    etag: result?.validators.etag ?? null,
    lastModified: result?.validators.lastModified ?? null,
    size: copy.size,
    mtimeNs: copy.mtimeNs,
    // Verified by the transfer or the reuse; a 304 keeps what was known of the same bytes.
    digest: expected !== undefined ? digestKey(expected) : outcome === 'unchanged' ? (before?.digest ?? null) : null,
    outcome,
    updatedAt: Date.now(),
  };
  await store.put(record).catch((error: unknown) => {
    process.emitWarning(`the state store could not record ${record.destination}: ${(error as Error).message}`, { code: 'NECTAR_STATE_STORE' });
  });
}
