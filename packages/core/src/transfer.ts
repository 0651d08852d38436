import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedConfig } from './config.js';
import { AtomicFile, type DestinationWriter, StreamDestination } from './destination.js';
import type { Route, SharedLimits } from './downloader.js';
import { NectarError, toNectarError } from './errors.js';
import { type DownloadEventListener, emit } from './events.js';
import { requestHeaders } from './http/headers.js';
import type { TransferJob, TransferResponse } from './job.js';
import type { ProxySettings } from './proxy.js';
import type { DownloadReport } from './report.js';
import type { DownloadRequest } from './request.js';
import { TransferSink } from './sink.js';
import type { TlsMaterial } from './tls.js';

/** Everything one request needs from its downloader, handed over by Downloader.#settle. */
export interface TransferContext<D> {
  request: DownloadRequest<D>;
  report: DownloadReport<D>;
  signal: AbortSignal;
  settings: ResolvedConfig;
  limits: SharedLimits;
  listener: DownloadEventListener<D>;
  tls(): Promise<TlsMaterial>;
  proxy: ProxySettings | null;
  route(url: URL): Promise<Route>;
}

/** Mutable state of one request across its attempts. */
interface Progress {
  writer: DestinationWriter;
  hash: Hash | null;
  /** Bytes the backend wrote to tempPath itself: the digest then needs a read-back. */
  wroteDirectly: boolean;
  validator: string | null;
  lastEmit: number;
}

/** Opens the destination, runs the attempts (retries, then mirrors), verifies and commits. */
export async function runTransfer<D>(ctx: TransferContext<D>): Promise<void> {
  const { request, settings } = ctx;
  await ctx.route(new URL(request.url));
  const { destination } = request;
  const writer = typeof destination === 'string' ? await AtomicFile.open(destination, { url: request.url }) : new StreamDestination(destination);
  const state: Progress = { writer, hash: null, wroteDirectly: false, validator: writer.resumeValidator, lastEmit: 0 };
  try {
    state.hash = await seededHash(request, writer);
    ctx.report.bytesDownloaded = writer.size;
    await attemptAll(ctx, state);
    await writer.commit({ fsync: settings.fsync });
  } catch (error) {
    const keep = settings.keepPartial && state.validator !== null ? { validator: state.validator } : undefined;
    await writer.abandon(keep);
    throw error;
  }
}

/** A digest must cover the bytes a kept part file already holds, before new ones arrive. */
async function seededHash(request: DownloadRequest, writer: DestinationWriter): Promise<Hash | null> {
  const hash = newHash(request);
  if (hash === null || writer.size === 0 || writer.tempPath === null) return hash;
  for await (const chunk of createReadStream(writer.tempPath, { end: writer.size - 1 })) hash.update(chunk as Buffer);
  return hash;
}

async function attemptAll<D>(ctx: TransferContext<D>, state: Progress): Promise<void> {
  const { request, settings, signal } = ctx;
  let lastError: NectarError | undefined;
  for (const url of [request.url, ...request.mirrors]) {
    if (url !== request.url) {
      await restart(ctx, state);
      state.validator = null;
    }
    for (let retry = 0; ; retry++) {
      try {
        await attempt(ctx, state, new URL(url));
        ctx.report.finalUrl ??= url;
        return;
      } catch (error) {
        lastError = toNectarError(error);
        if (signal.aborted || !lastError.retryable || retry >= settings.retries) break;
        await sleep(backoff(settings, retry, lastError), undefined, { signal });
      }
    }
    if (signal.aborted || !worthAMirror(lastError)) break;
  }
  throw lastError ?? new NectarError('NECTAR_BACKEND', 'no attempt was made');
}

/** Failures that another URL cannot fix: the destination, bad input, a cancel. */
function worthAMirror(error: NectarError | undefined): boolean {
  if (error === undefined) return false;
  return !['NECTAR_DESTINATION', 'NECTAR_INVALID_CONFIG', 'NECTAR_INVALID_REQUEST', 'NECTAR_RESUME', 'NECTAR_CANCELED'].includes(error.code);
}

/** Full jitter over an exponential ceiling; a server's Retry-After is a floor, up to retryAfterMax. */
function backoff(settings: ResolvedConfig, retry: number, error: NectarError): number {
  const ceiling = Math.min(settings.retryMaxDelay, settings.retryDelay * 2 ** retry);
  const jittered = Math.random() * ceiling;
  const asked = error.details.retryAfter;
  return typeof asked === 'number' ? Math.max(jittered, Math.min(asked, settings.retryAfterMax)) : jittered;
}

function newHash(request: DownloadRequest): Hash | null {
  return request.expectedDigest ? createHash(request.expectedDigest.algorithm) : null;
}

async function restart<D>(ctx: TransferContext<D>, state: Progress): Promise<void> {
  await state.writer.restart();
  state.hash = newHash(ctx.request);
  state.wroteDirectly = false;
  ctx.report.bytesDownloaded = 0;
}

async function attempt<D>(ctx: TransferContext<D>, state: Progress, url: URL): Promise<void> {
  const { request, report, settings, limits, listener } = ctx;
  const route = await ctx.route(url);
  const { writer } = state;
  // Resume only where the backend can and an earlier attempt left a validator to check it with.
  const offset = writer.size > 0 && route.supports.resume && state.validator !== null ? writer.size : 0;
  if (offset === 0 && writer.size > 0) await restart(ctx, state);
  report.attempts++;
  report.bytesDownloaded = offset;

  const timeout = attemptTimeout(settings.requestTimeout);
  const signal = timeout ? AbortSignal.any([ctx.signal, timeout.signal]) : ctx.signal;
  const counted = (bytes: number) => {
    report.bytesDownloaded += bytes;
    if (settings.maxFileSize !== undefined && report.bytesDownloaded > settings.maxFileSize) {
      throw new NectarError('NECTAR_MAX_FILE_SIZE', `${url.href} is larger than config.maxFileSize (${settings.maxFileSize} bytes)`, {
        details: { maxFileSize: settings.maxFileSize },
      });
    }
    const now = performance.now();
    if (now - state.lastEmit >= settings.progressInterval) {
      state.lastEmit = now;
      emit(listener, 'downloadProgress', report);
    }
  };
  const sink = new TransferSink({
    writer,
    limiter: limits.speed,
    signal,
    onBytes(chunks, bytes) {
      if (state.hash !== null) for (const chunk of chunks) state.hash.update(chunk);
      counted(bytes);
    },
  });
  signal.throwIfAborted();
  const abortSink = () => sink.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  signal.addEventListener('abort', abortSink, { once: true });
  const job: TransferJob = {
    request,
    url,
    config: settings,
    headers: requestHeaders(settings, request),
    credentials: settings.basicAuthUsername === undefined ? null : { username: settings.basicAuthUsername, password: settings.basicAuthPassword ?? '' },
    tls: await ctx.tls(),
    proxy: ctx.proxy,
    signal,
    attempt: report.attempts,
    offset,
    validator: offset > 0 ? state.validator : null,
    sink,
    tempPath: writer.tempPath,
    responded: (response) => responded(ctx, state, offset, response),
    progressed(bytes) {
      state.wroteDirectly = true;
      writer.grew(bytes);
      counted(bytes);
    },
    throttle: async (bytes) => {
      if (limits.speed !== null) await limits.speed.take(bytes, signal);
    },
    limiter: limits.speed,
  };
  try {
    await route.transfer(job);
    // A backend that wrote tempPath itself never ended the sink; one that piped has.
    if (!sink.writableEnded) sink.end();
    await finished(sink);
  } catch (error) {
    sink.destroy();
    await sink.settled();
    if (timeout?.signal.aborted && !ctx.signal.aborted) {
      throw new NectarError('NECTAR_TIMEOUT', `${url.href} took longer than config.requestTimeout (${settings.requestTimeout} ms)`, {
        retryable: true,
        details: { timeout: 'request', ms: settings.requestTimeout },
      });
    }
    throw error;
  } finally {
    signal.removeEventListener('abort', abortSink);
    timeout?.clear();
  }
  await verify(ctx, state, url);
}

async function responded<D>(ctx: TransferContext<D>, state: Progress, offset: number, response: TransferResponse): Promise<void> {
  const { report, request, settings } = ctx;
  if (offset > 0 && response.resumed !== true) await restart(ctx, state);
  report.totalBytes = response.totalBytes;
  if (response.finalUrl !== undefined) report.finalUrl = response.finalUrl;
  state.validator = response.validator ?? null;
  if (response.headers !== undefined) emit(ctx.listener, 'downloadHeaders', report, response.headers);
  const total = response.totalBytes;
  if (total !== null && settings.maxFileSize !== undefined && total > settings.maxFileSize) {
    throw new NectarError('NECTAR_MAX_FILE_SIZE', `${request.url} is ${total} bytes, more than config.maxFileSize (${settings.maxFileSize})`, {
      details: { totalBytes: total, maxFileSize: settings.maxFileSize },
    });
  }
  if (total !== null && request.expectedSize !== undefined && total !== request.expectedSize) {
    throw sizeMismatch(request.expectedSize, total, 'the server announced');
  }
}

async function verify<D>(ctx: TransferContext<D>, state: Progress, url: URL): Promise<void> {
  const { request, report } = ctx;
  const size = state.writer.size;
  if (report.totalBytes !== null && size !== report.totalBytes) {
    throw new NectarError('NECTAR_SIZE_MISMATCH', `${url.href} ended after ${size} of ${report.totalBytes} bytes`, {
      retryable: true,
      details: { expected: report.totalBytes, actual: size },
    });
  }
  if (request.expectedSize !== undefined && size !== request.expectedSize) throw sizeMismatch(request.expectedSize, size, 'the download has');
  const expected = request.expectedDigest;
  if (expected === undefined || state.hash === null) return;
  const actual = state.wroteDirectly && state.writer.tempPath !== null ? await digestOf(state.writer.tempPath, expected.algorithm) : state.hash.digest('hex');
  if (actual !== expected.value) {
    throw new NectarError('NECTAR_DIGEST_MISMATCH', `${expected.algorithm} of ${url.href} is ${actual}, expected ${expected.value}`, {
      details: { algorithm: expected.algorithm, expected: expected.value, actual },
    });
  }
}

function sizeMismatch(expected: number, actual: number, what: string): NectarError {
  return new NectarError('NECTAR_SIZE_MISMATCH', `expected ${expected} bytes but ${what} ${actual}`, { details: { expected, actual } });
}

async function digestOf(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function attemptTimeout(ms: number): { signal: AbortSignal; clear(): void } | null {
  if (ms <= 0) return null;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
