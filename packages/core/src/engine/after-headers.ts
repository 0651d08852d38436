import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { NectarError } from '../errors.js';
import { isPartFileName } from '../output/destination.js';
import type { DestinationWriter } from '../output/destination.js';
import { redactUrl } from '../redact.js';
import type { DownloadReport } from '../report.js';
import type { DownloadRequest } from '../request.js';

/** What `config.afterHeaders` sees: the answer's head, before any byte of its body is written. */
export interface ArrivedHeaders<D = unknown> {
  readonly request: DownloadRequest<D>;
  readonly report: DownloadReport<D>;
  /** The protocol's status (HTTP), when it has one. */
  readonly status: number | undefined;
  /** Response headers, lower-cased; empty for protocols without headers (file://, sftp://). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly totalBytes: number | null;
}

/**
 * What the hook decides: nothing (go on), `{ skip: true }` (the request ends 'canceled', nothing
 * written), or `{ destination }` (the file is committed there instead: a path, or a name resolved
 * beside the request's destination). To fail the request, throw.
 */
export type AfterHeadersDecision =
  | { readonly skip: true }
  /** `replace: false`: a file that is at `destination` by the time the download ends is kept, and the request fails NECTAR_DESTINATION. */
  | { readonly destination: string; readonly replace?: boolean }
  | undefined;

export type AfterHeadersHook = (arrived: ArrivedHeaders) => AfterHeadersDecision | Promise<AfterHeadersDecision>;

/** The error that makes a skipped request end 'canceled' rather than 'failed'. */
export function isSkip(error: unknown): boolean {
  return error instanceof NectarError && error.code === 'NECTAR_CANCELED' && error.details.skipped === true;
}

/**
 * Runs the hook once per answer that brings a body. Its throw fails the request
 * (NECTAR_REFUSED, unless it threw a NectarError of its own); a new destination applies to a path
 * destination only and may not pose as one of our part files.
 */
export async function decideAfterHeaders(hook: AfterHeadersHook, arrived: ArrivedHeaders, writer: DestinationWriter): Promise<string | null> {
  let decision: AfterHeadersDecision;
  try {
    decision = await hook(arrived);
  } catch (error) {
    if (error instanceof NectarError) throw error;
    throw new NectarError('NECTAR_REFUSED', `config.afterHeaders refused ${redactUrl(arrived.request.url)}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  }
  if (decision === undefined) return null;
  if ('skip' in decision && decision.skip) {
    throw new NectarError('NECTAR_CANCELED', `skipped by config.afterHeaders: ${redactUrl(arrived.request.url)}`, { details: { skipped: true } });
  }
  return 'destination' in decision ? retarget(arrived.request, writer, decision.destination, decision.replace !== false) : null;
}

function retarget(request: DownloadRequest, writer: DestinationWriter, destination: string, replace: boolean): string {
  const original = request.destination;
  if (typeof original !== 'string' || writer.retarget === undefined) {
    throw new NectarError('NECTAR_REFUSED', 'config.afterHeaders chose a destination for a request whose destination is a stream');
  }
  if (typeof destination !== 'string' || destination === '' || isPartFileName(basename(destination))) {
    throw new NectarError('NECTAR_REFUSED', `config.afterHeaders chose an unusable destination ${JSON.stringify(destination)}`, { details: { destination } });
  }
  const path = isAbsolute(destination) ? destination : resolve(dirname(original), destination);
  writer.retarget(path, { replace });
  return path;
}
