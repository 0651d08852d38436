import { createHash, type Hash } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ResolvedConfig } from '../config.js';
import { AtomicFile, type DestinationWriter, StreamDestination } from '../output/destination.js';
import type { Backend, SharedLimits } from './backend.js';
import { NectarError, toNectarError } from '../errors.js';
import { type Redactor, redactUrl } from '../redact.js';
import { type DownloadEventListener, emit } from './events.js';
import { requestHeaders } from '../http/headers.js';
import type { TransferJob, TransferResponse } from './job.js';
import type { ProxySettings } from '../http/proxy.js';
import type { DownloadReport } from '../report.js';
import type { DownloadRequest } from '../request.js';
import { BodyWriter, TransferSink } from '../output/sink.js';
import { retryDelay, worthAMirror } from './retry-policy.js';
import { ThroughputFloor, effectiveFloor } from '../limits/throughput-floor.js';
import { CombinedThrottle } from '../limits/byte-throttle.js';
import type { HostLimits, HostPass } from '../limits/per-host.js';
import type { BytesInFlight } from '../limits/bytes-in-flight.js';
import { SpeedLimiter } from '../limits/speed.js';
import type { TlsMaterial } from '../tls/material.js';

/** The shared limits as the engine keeps them: what backends see, and the per-origin limits and byte budget. */
export interface EngineLimits extends SharedLimits {
  readonly hosts: HostLimits;
  /** maxBytesInFlight, or null. */
  readonly bytes: BytesInFlight | null;
}

/** Everything one request needs from its downloader, handed over by Downloader.#settle. */
export interface TransferContext<D> {
  request: DownloadRequest<D>;
  report: DownloadReport<D>;
  signal: AbortSignal;
  settings: ResolvedConfig;
  limits: EngineLimits;
  listener: DownloadEventListener<D>;
  /** Masks secrets in what reaches the report (finalUrl). */
  redactor: Redactor;
  tls(): Promise<TlsMaterial>;
  proxy: ProxySettings | null;
  route(url: URL): Promise<Backend>;
}

/** Mutable state of one request across its attempts. */
interface Progress {
  writer: DestinationWriter;
  hash: Hash | null;
  /** Bytes the backend wrote to tempPath itself: the digest then needs a read-back. */
  wroteDirectly: boolean;
  validator: string | null;
  /** The whole file's size as first announced: a resume must continue the same file. */
  total: number | null;
  lastEmit: number;
  /** The request's own maxSpeed budget, kept across its attempts. */
  speed: SpeedLimiter | null;
  /** Gives back the request's share of maxBytesInFlight, taken at its first announced size. */
  release: (() => void) | null;
}

/** Opens the destination, runs the attempts (retries, then mirrors), verifies and commits. */
export async function runTransfer<D>(ctx: TransferContext<D>): Promise<void> {
  const { request, settings } = ctx;
  await ctx.route(new URL(request.url));
  const { destination } = request;
  const writer = typeof destination === 'string' ? await AtomicFile.open(destination, { url: request.url }) : new StreamDestination(destination);
  const speed = request.maxSpeed === undefined ? null : new SpeedLimiter(request.maxSpeed);
  const state: Progress = { writer, hash: null, wroteDirectly: false, validator: writer.resumeValidator, total: writer.resumeTotal, lastEmit: 0, speed, release: null };
  try {
    state.hash = await seededHash(request, writer);
    ctx.report.bytesDownloaded = writer.size;
    await attemptAll(ctx, state);
    await writer.commit({ fsync: settings.fsync });
  } catch (error) {
    await writer.abandon(keepable(settings, state, error) ? { validator: state.validator ?? '', total: state.total } : undefined);
    throw error;
  } finally {
    state.release?.();
  }
}

/** Bytes that failed verification are never resumed: a later run would only extend the same fault. */
function keepable(settings: ResolvedConfig, state: Progress, error: unknown): boolean {
  if (!settings.keepPartial || state.validator === null) return false;
  const code = error instanceof NectarError ? error.code : undefined;
  return code !== 'NECTAR_DIGEST_MISMATCH' && code !== 'NECTAR_SIZE_MISMATCH' && code !== 'NECTAR_MAX_FILE_SIZE' && code !== 'NECTAR_RESUME';
}

/** A digest must cover the bytes a kept part file already holds, before new ones arrive. */
async function seededHash(request: DownloadRequest, writer: DestinationWriter): Promise<Hash | null> {
  const hash = newHash(request);
  if (hash === null || writer.size === 0) return hash;
  for await (const chunk of writer.read(writer.size)) hash.update(chunk);
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
        ctx.report.finalUrl ??= ctx.redactor.url(url);
        return;
      } catch (error) {
        lastError = toNectarError(error);
        if (!signal.aborted && isRefusedResume(lastError, state)) {
          // A resume the server answered with other bytes: start over at once, not as a retry.
          await restart(ctx, state);
          state.validator = null;
          state.total = null;
          retry--;
          continue;
        }
        if (signal.aborted || !lastError.retryable || retry >= settings.retries) break;
        await sleep(retryDelay(settings, retry, lastError), undefined, { signal });
      }
    }
    if (signal.aborted || !worthAMirror(lastError)) break;
  }
  throw lastError ?? new NectarError('NECTAR_BACKEND', 'no attempt was made');
}

/** A 206 that does not continue the part file: restartable once, where the destination allows. */
function isRefusedResume(error: NectarError, state: Progress): boolean {
  return error.code === 'NECTAR_RESUME' && error.details.restart === true && state.writer.size > 0 && state.writer.tempPath !== null;
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

/**
 * One attempt through its origin's limits: its slot first, a rate token right before the backend
 * runs (each redirect hop takes its own in the driver), its answer fed to the slowdown rule.
 */
async function attempt<D>(ctx: TransferContext<D>, state: Progress, url: URL): Promise<void> {
  const pass = ctx.limits.hosts.pass(ctx.signal, (slowdown) => emit(ctx.listener, 'hostSlowed', ctx.report, slowdown));
  try {
    await pass.begin(url);
    await attemptThrough(ctx, state, url, pass);
    pass.answered(null);
  } catch (error) {
    pass.answered(error);
    throw error;
  } finally {
    pass.leave();
  }
}

async function attemptThrough<D>(ctx: TransferContext<D>, state: Progress, url: URL, pass: HostPass): Promise<void> {
  const { request, report, settings, limits, listener } = ctx;
  const route = await ctx.route(url);
  const { writer } = state;
  // Resume only where the backend can and an earlier attempt left a validator to check it with.
  const offset = writer.size > 0 && route.supports.resume && state.validator !== null ? writer.size : 0;
  if (offset === 0 && writer.size > 0) await restart(ctx, state);
  report.attempts++;
  report.bytesDownloaded = offset;

  const deadline = new AttemptDeadline(settings, limits, ctx.signal);
  const { signal } = deadline;
  const counted = (bytes: number) => {
    report.bytesDownloaded += bytes;
    deadline.floor?.add(bytes);
    if (settings.maxFileSize !== undefined && report.bytesDownloaded > settings.maxFileSize) {
      throw new NectarError('NECTAR_MAX_FILE_SIZE', `${redactUrl(url)} is larger than config.maxFileSize (${settings.maxFileSize} bytes)`, {
        details: { maxFileSize: settings.maxFileSize },
      });
    }
    const now = performance.now();
    if (now - state.lastEmit >= settings.progressInterval) {
      state.lastEmit = now;
      emit(listener, 'downloadProgress', report);
    }
  };
  // Read for every chunk: a redirect moves the attempt to another origin, setLimits() changes budgets.
  const budgets: Array<SpeedLimiter | null> = [limits.speed, null, state.speed];
  const throttle = new CombinedThrottle(() => {
    budgets[1] = pass.speed;
    return budgets;
  });
  const body = new BodyWriter({
    writer,
    limiter: throttle,
    signal,
    floor: deadline.floor,
    onBytes(chunks, bytes) {
      if (state.hash !== null) for (const chunk of chunks) state.hash.update(chunk);
      counted(bytes);
    },
  });
  // Built only for a backend that pipes: a backend writing chunk by chunk never pays for a stream.
  let sink: TransferSink | null = null;
  const stop = () => {
    body.close();
    sink?.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
  };
  signal.addEventListener('abort', stop, { once: true });
  try {
    signal.throwIfAborted();
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
      body,
      get sink() {
        sink ??= new TransferSink(body);
        return sink;
      },
      tempPath: writer.tempPath,
      responded: async (response) => {
        await responded(ctx, state, offset, response);
        // The body waits for its share of maxBytesInFlight; the wait is ours, not the server's slowness.
        deadline.floor?.hold();
        try {
          await reserveBytes(ctx, state, response.totalBytes, signal);
        } finally {
          deadline.floor?.release();
        }
      },
      progressed(bytes) {
        state.wroteDirectly = true;
        writer.grew(bytes);
        counted(bytes);
      },
      partReplaced: (identity) => writer.replaced(identity),
      throttle: async (bytes) => {
        await throttle.take(bytes, signal);
      },
      limiter: limits.speed,
      hosts: pass,
    };
    await pass.ready();
    await route.transfer(job);
    // A backend that piped has ended the sink; one that wrote chunks or the file itself never made one.
    if (sink !== null) await endSink(sink);
    await body.settled();
  } catch (error) {
    stop();
    await body.settled();
    if (deadline.expired && !ctx.signal.aborted) throw deadline.error(url);
    throw error;
  } finally {
    body.close();
    signal.removeEventListener('abort', stop);
    deadline.clear();
  }
  await verify(ctx, state, url);
}

/** The request's share of maxBytesInFlight, once per request: its announced size (unknown: nothing). */
async function reserveBytes<D>(ctx: TransferContext<D>, state: Progress, total: number | null, signal: AbortSignal): Promise<void> {
  const budget = ctx.limits.bytes;
  if (budget === null || total === null || state.release !== null) return;
  state.release = await budget.reserve(total, signal);
}

async function endSink(sink: TransferSink): Promise<void> {
  if (!sink.writableEnded) sink.end();
  await finished(sink);
}

async function responded<D>(ctx: TransferContext<D>, state: Progress, offset: number, response: TransferResponse): Promise<void> {
  const { report, request, settings } = ctx;
  if (offset > 0 && response.resumed === true) checkContinues(ctx, state, offset, response);
  if (offset > 0 && response.resumed !== true) await restart(ctx, state);
  report.totalBytes = response.totalBytes;
  if (response.finalUrl !== undefined) report.finalUrl = ctx.redactor.url(response.finalUrl);
  state.validator = response.validator ?? null;
  state.total = response.totalBytes;
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

/**
 * No splice: a resumed body is accepted only from the same version of the file — the validator
 * that was sent comes back, and the whole size is the one the part file was started with.
 */
function checkContinues<D>(ctx: TransferContext<D>, state: Progress, offset: number, response: TransferResponse): void {
  const sameVersion = (response.validator ?? null) === state.validator;
  const sameSize = state.total === null || response.totalBytes === state.total;
  if (sameVersion && sameSize) return;
  const why = sameVersion ? `its size is now ${response.totalBytes}, not ${state.total}` : `its validator is now ${response.validator ?? '(none)'}, not ${state.validator}`;
  throw new NectarError('NECTAR_RESUME', `${redactUrl(ctx.request.url)} answered a resume from byte ${offset} with another version of the file: ${why}`, {
    retryable: true,
    details: { offset, restart: true, validator: response.validator ?? null, expectedValidator: state.validator },
  });
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
  const actual = state.wroteDirectly ? await digestOf(state.writer, expected.algorithm) : state.hash.digest('hex');
  if (actual !== expected.value) {
    throw new NectarError('NECTAR_DIGEST_MISMATCH', `${expected.algorithm} of ${url.href} is ${actual}, expected ${expected.value}`, {
      details: { algorithm: expected.algorithm, expected: expected.value, actual },
    });
  }
}

function sizeMismatch(expected: number, actual: number, what: string): NectarError {
  return new NectarError('NECTAR_SIZE_MISMATCH', `expected ${expected} bytes but ${what} ${actual}`, { details: { expected, actual } });
}

async function digestOf(writer: DestinationWriter, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of writer.read()) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * The signal of one attempt: aborted by the request's own signal (a cancel), by
 * config.requestTimeout, or by the minimum-throughput floor. Built by hand rather than with
 * AbortSignal.any(), which costs a weak reference and a finalizer per attempt.
 */
class AttemptDeadline {
  readonly #controller = new AbortController();
  readonly #settings: ResolvedConfig;
  readonly #timer: NodeJS.Timeout | undefined;
  readonly #parent: AbortSignal;
  readonly #onCancel = () => this.#controller.abort(this.#parent.reason);
  readonly floor: ThroughputFloor | null;
  #reason: 'request' | 'minSpeed' | null = null;

  constructor(settings: ResolvedConfig, limits: SharedLimits, parent: AbortSignal) {
    this.#settings = settings;
    this.#parent = parent;
    if (parent.aborted) this.#controller.abort(parent.reason);
    else parent.addEventListener('abort', this.#onCancel, { once: true });
    if (settings.requestTimeout > 0) this.#timer = setTimeout(() => this.#expire('request'), settings.requestTimeout);
    const floor = effectiveFloor(settings.minSpeed, settings.maxSpeed, limits.concurrency.max);
    this.floor = floor > 0 ? new ThroughputFloor(floor, settings.minSpeedTime, () => this.#expire('minSpeed')) : null;
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** Whether the attempt ended for a reason of its own, not a cancel. */
  get expired(): boolean {
    return this.#reason !== null;
  }

  #expire(reason: 'request' | 'minSpeed'): void {
    if (this.#controller.signal.aborted) return;
    this.#reason = reason;
    this.#controller.abort();
  }

  error(url: URL): NectarError {
    const { requestTimeout, minSpeed, minSpeedTime } = this.#settings;
    if (this.#reason === 'request') {
      return new NectarError('NECTAR_TIMEOUT', `${redactUrl(url)} took longer than config.requestTimeout (${requestTimeout} ms)`, {
        retryable: true,
        details: { timeout: 'request', ms: requestTimeout },
      });
    }
    return new NectarError('NECTAR_TIMEOUT', `${redactUrl(url)} sent less than config.minSpeed (${minSpeed} bytes/s) over config.minSpeedTime (${minSpeedTime} ms)`, {
      retryable: true,
      details: { timeout: 'minSpeed', minSpeed, ms: minSpeedTime },
    });
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#parent.removeEventListener('abort', this.#onCancel);
    this.floor?.stop();
  }
}
