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
import { type Validators, conditionalHeaders, responseValidators } from '../http/conditional.js';
import { httpStatusError } from '../http/status.js';
import type { ByteRange, TransferJob, TransferResponse } from './job.js';
import type { ProxySettings } from '../http/proxy.js';
import type { DownloadOutcome, DownloadReport } from '../report.js';
import type { DownloadRequest } from '../request.js';
import { BodyWriter, type BodyWriterOptions, type TransferSink } from '../output/sink.js';
import { PartWriter } from '../output/part-writer.js';
import { checkSegment, minSegmentBytes, transferInSegments } from './segments.js';
import { writtenDigest } from './written-digest.js';
import { AttemptJob, type LegFields, type SharedFields } from './attempt-job.js';
import { retryDelay, worthAMirror } from './retry-policy.js';
import { decideAfterHeaders, isSkip } from './after-headers.js';
import { ThroughputFloor, effectiveFloor } from '../limits/throughput-floor.js';
import { type AttemptBudgets, attemptThrottle } from '../limits/attempt-budgets.js';
import type { RequestPermits } from '../http/redirect-driver.js';
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
  /** Validators of the copy on disk (state/resync.ts): the request is sent conditional. */
  conditional?: Validators | null;
  /** Keep the part file resumable across a crash, as keepPartial does (a state store's whole-run resume). */
  resumable?: boolean;
}

/** How a transfer that succeeded got its bytes, and what the server said identifies them. */
export interface TransferResult {
  outcome: Exclude<DownloadOutcome, 'reused'>;
  validators: Validators;
  /** Where config.afterHeaders had the file committed instead of the destination, or null. */
  placedAt: string | null;
}

/** Mutable state of one request across its attempts. */
interface Progress {
  writer: DestinationWriter;
  hash: Hash | null;
  /** Bytes the backend wrote to tempPath itself: the digest then needs a read-back. */
  wroteDirectly: boolean;
  /** Unless the thread that wrote them hashed them all (core's executor): this digest. */
  writtenDigest: string | null;
  validator: string | null;
  /** The whole file's size as first announced: a resume must continue the same file. */
  total: number | null;
  lastEmit: number;
  /** The request's own maxSpeed budget, kept across its attempts. */
  speed: SpeedLimiter | null;
  /** Gives back the request's share of maxBytesInFlight, taken at its first announced size. */
  release: (() => void) | null;
  /** A 304 confirmed the destination: the part file is dropped, the destination left as it is. */
  unchanged: boolean;
  /** The accepted body continued bytes already in the part file. */
  resumed: boolean;
  validators: Validators;
  placedAt: string | null;
}

/** Opens the destination, runs the attempts (retries, then mirrors), verifies and commits. */
export async function runTransfer<D>(ctx: TransferContext<D>): Promise<TransferResult> {
  const { request, settings } = ctx;
  await ctx.route(new URL(request.url));
  const { destination } = request;
  const writer = typeof destination === 'string' ? await AtomicFile.open(destination, { url: request.url }) : new StreamDestination(destination);
  const speed = request.maxSpeed === undefined ? null : new SpeedLimiter(request.maxSpeed);
  const state: Progress = {
    writer,
    hash: null,
    wroteDirectly: false,
    writtenDigest: null,
    validator: writer.resumeValidator,
    total: writer.resumeTotal,
    lastEmit: 0,
    speed,
    release: null,
    unchanged: false,
    resumed: false,
    validators: { etag: null, lastModified: null },
    placedAt: null,
  };
  try {
    state.hash = await seededHash(request, writer);
    ctx.report.bytesDownloaded = writer.size;
    await attemptAll(ctx, state);
    if (state.unchanged) await writer.abandon();
    else await writer.commit({ fsync: settings.fsync });
    const outcome = state.unchanged ? 'unchanged' : state.resumed ? 'resumed' : 'downloaded';
    return { outcome, validators: state.validators, placedAt: state.placedAt };
  } catch (error) {
    await writer.abandon(keepable(ctx, state, error) ? { validator: state.validator ?? '', total: state.total } : undefined);
    throw error;
  } finally {
    state.release?.();
  }
}

/** Bytes that failed verification are never resumed: a later run would only extend the same fault. */
function keepable<D>(ctx: TransferContext<D>, state: Progress, error: unknown): boolean {
  if (!keepsParts(ctx) || state.validator === null || isSkip(error)) return false;
  const code = error instanceof NectarError ? error.code : undefined;
  return code !== 'NECTAR_DIGEST_MISMATCH' && code !== 'NECTAR_SIZE_MISMATCH' && code !== 'NECTAR_MAX_FILE_SIZE' && code !== 'NECTAR_RESUME';
}

function keepsParts<D>(ctx: TransferContext<D>): boolean {
  return ctx.settings.keepPartial || ctx.resumable === true;
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
  state.resumed = false;
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
  const { report, settings, limits, listener } = ctx;
  const route = await ctx.route(url);
  const { writer } = state;
  // Resume only where the backend can and an earlier attempt left a validator to check it with.
  const offset = writer.size > 0 && route.supports.resume && state.validator !== null ? writer.size : 0;
  if (offset === 0 && writer.size > 0) await restart(ctx, state);
  state.writtenDigest = null;
  report.attempts++;
  report.bytesDownloaded = offset;

  const legs = new Legs();
  // The deadline owns the attempt's controller: it stops the legs as it aborts, no listener needed.
  const deadline = new AttemptDeadline(settings, limits, ctx.signal, (reason) => legs.stop(reason));
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
  // The origin's is read for every chunk: a redirect moves the attempt to another origin.
  const budgets: AttemptBudgets = { downloader: limits.speed, request: state.speed, host: () => pass.speed };
  const throttle = attemptThrottle(budgets);
  try {
    signal.throwIfAborted();
    const shared = await sharedFields(ctx, state, url, { budgets, throttle }, pass);
    /** One job over `body`: the whole file, or one segment of it. */
    const job = (fields: LegFields, body: BodyWriter): AttemptJob => legs.add(new AttemptJob(shared, fields, body));
    const bodyWriter = (to: Pick<DestinationWriter, 'write'>, legSignal: AbortSignal, onBytes: BodyWriterOptions['onBytes']) =>
      new BodyWriter({ writer: to, limiter: throttle, signal: legSignal, floor: deadline.floor, onBytes });
    const whole = (legSignal: AbortSignal, answered: TransferJob['responded'], to: Pick<DestinationWriter, 'write'> = writer) =>
      job(
        { url, signal: legSignal, offset, validator: offset > 0 ? state.validator : null, range: null, responded: answered, progressed: (bytes) => grew(state, counted, bytes) },
        bodyWriter(to, legSignal, (chunks, bytes) => {
          if (state.hash !== null) for (const chunk of chunks) state.hash.update(chunk);
          counted(bytes);
        }),
      );
    const answered: TransferJob['responded'] = async (response) => {
      await responded(ctx, state, offset, response);
      // The body waits for its share of maxBytesInFlight; the wait is ours, not the server's slowness.
      deadline.floor?.hold();
      try {
        await reserveBytes(ctx, state, response.totalBytes, signal);
      } finally {
        deadline.floor?.release();
      }
    };
    await pass.ready();
    const segments = settings.segments ?? 1;
    if (segments > 1 && offset === 0 && !settings.decompress && route.supports.ranges && writer instanceof AtomicFile) {
      // A segment is one more request to the origin: it takes a rate token (its slot is the attempt's).
      const run = async (leg: TransferJob) => {
        if (leg.range !== null) await pass.enter(leg.url);
        await legs.run(route, leg);
      };
      await transferInSegments(run, signal, url, {
        segments,
        minSize: settings.minSegmentSize ?? minSegmentBytes,
        responded: answered,
        // Segments grow the part file out of order: the first one writes at its own place too.
        job: (legSignal, firstAnswered) => whole(legSignal, firstAnswered, positioned(writer, { start: 0, end: Number.POSITIVE_INFINITY })),
        limitFirst(limit, onFull) {
          // Segments arrive out of order: the digest is read back from the file at the end, and
          // the part file is no prefix of the file that a later attempt could resume.
          state.wroteDirectly = true;
          state.validator = null;
          // Nor may a run killed meanwhile resume it: the sidecar written for the first answer goes.
          state.writer.unvouch?.();
          legs.first?.limitTo(limit, onFull);
        },
        rangeJob: (segment, legSignal, onFull) => {
          const { range, url: rangeUrl, validator } = segment;
          const body = bodyWriter(positioned(writer, range), legSignal, (_chunks, bytes) => counted(bytes));
          // Bytes past the range are neither written nor counted, and end the segment's transfer.
          body.limitTo(range.end - range.start, onFull);
          return job(
            {
              url: rangeUrl,
              signal: legSignal,
              offset: 0,
              validator,
              range,
              responded: async (response) => checkSegment(response, segment, rangeUrl),
              progressed: (bytes) => grew(state, counted, bytes),
            },
            body,
          );
        },
      });
    } else {
      const only = whole(signal, answered);
      await legs.run(route, only);
      state.writtenDigest = writtenDigest(only);
    }
  } catch (error) {
    legs.stop(signal.aborted ? signal.reason : undefined);
    await legs.settled();
    if (deadline.expired && !ctx.signal.aborted) throw deadline.error(url);
    throw error;
  } finally {
    legs.close();
    deadline.clear();
  }
  if (!state.unchanged) await verify(ctx, state, url);
}

/** The job fields every leg of one attempt shares. */
async function sharedFields<D>(
  ctx: TransferContext<D>,
  state: Progress,
  url: URL,
  bytes: Pick<SharedFields, 'budgets' | 'throttle'>,
  hosts: RequestPermits,
): Promise<SharedFields> {
  const { request, settings, limits, report } = ctx;
  return {
    request,
    config: settings,
    headers: { ...requestHeaders(settings, request, url.href), ...conditionalHeaders(ctx.conditional ?? null) },
    credentials: settings.basicAuthUsername === undefined ? null : { username: settings.basicAuthUsername, password: settings.basicAuthPassword ?? '' },
    tls: await ctx.tls(),
    proxy: ctx.proxy,
    attempt: report.attempts,
    tempPath: state.writer.tempPath,
    limiter: limits.speed,
    budgets: bytes.budgets,
    throttle: bytes.throttle,
    hosts,
    partReplaced: (identity) => state.writer.replaced(identity),
  };
}

/** A backend wrote `bytes` to tempPath itself: the digest then needs a read-back. */
function grew(state: Progress, counted: (bytes: number) => void, bytes: number): void {
  state.wroteDirectly = true;
  state.writer.grew(bytes);
  counted(bytes);
}

/** Where one segment's bytes go: their own place in the part file, counted into its size. */
function positioned(file: AtomicFile, range: ByteRange): Pick<DestinationWriter, 'write'> {
  const part = new PartWriter({ fd: file.fd, destination: file.destination, position: range.start, limit: range.end - range.start });
  return {
    write(chunks) {
      file.grew(part.write(chunks));
    },
  };
}

/**
 * The jobs of one attempt (one, or one per segment) with their bodies, and the sinks made for
 * backends that pipe: a cancel stops them all, and each leg ends its own sink.
 */
class Legs {
  readonly #jobs: AttemptJob[] = [];

  /** The whole file's body: a split caps it at the first segment. */
  get first(): BodyWriter | undefined {
    return this.#jobs[0]?.body;
  }

  add(job: AttemptJob): AttemptJob {
    this.#jobs.push(job);
    return job;
  }

  async run(route: Backend, job: TransferJob): Promise<void> {
    await route.transfer(job);
    const { madeSink, body } = job as AttemptJob;
    // A backend that piped has ended the sink; one that wrote chunks or the file itself never made one.
    if (madeSink !== null) await endSink(madeSink);
    await body.settled();
  }

  /** Ends every leg: its body takes no more bytes and a sink made for it is destroyed with `reason`. */
  stop(reason: unknown): void {
    this.close();
    const error = reason instanceof Error ? reason : new Error('aborted');
    for (const job of this.#jobs) job.madeSink?.destroy(error);
  }

  close(): void {
    for (const job of this.#jobs) job.body.close();
  }

  /** A write that began before the attempt ended still lands on disk: wait for it. */
  async settled(): Promise<void> {
    await Promise.all(this.#jobs.map((job) => job.body.settled()));
  }
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
  if (response.unchanged === true) return confirmUnchanged(ctx, state, response);
  if (offset > 0 && response.resumed === true) checkContinues(ctx, state, offset, response);
  state.resumed = offset > 0 && response.resumed === true;
  if (offset > 0 && response.resumed !== true) await restart(ctx, state);
  report.totalBytes = response.totalBytes;
  if (response.finalUrl !== undefined) report.finalUrl = ctx.redactor.url(response.finalUrl);
  state.validator = response.validator ?? null;
  state.total = response.totalBytes;
  if (response.headers !== undefined) state.validators = responseValidators(response.headers);
  // Vouched for before the first byte: a run killed mid-body (kill -9 included) leaves a part file the next one resumes.
  if (keepsParts(ctx) && state.validator !== null) state.writer.vouch?.({ validator: state.validator, total: state.total });
  if (response.headers !== undefined) emit(ctx.listener, 'downloadHeaders', report, response.headers);
  if (settings.afterHeaders !== undefined) {
    const arrived = { request, report, status: response.status, headers: response.headers ?? {}, totalBytes: response.totalBytes };
    state.placedAt = (await decideAfterHeaders(settings.afterHeaders, arrived, state.writer)) ?? state.placedAt;
  }
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
 * A 304 is believed only when core itself made the request conditional: the destination on disk
 * is then the copy the validators describe. Anything else (a caller's own If-None-Match, a
 * server that answers 304 unasked) would leave a destination that may not exist.
 */
function confirmUnchanged<D>(ctx: TransferContext<D>, state: Progress, response: TransferResponse): void {
  if (ctx.conditional == null) throw httpStatusError(304, 'Not Modified', response.finalUrl ?? ctx.request.url, response.headers ?? {});
  state.unchanged = true;
  const fresh = response.headers === undefined ? { etag: null, lastModified: null } : responseValidators(response.headers);
  // A 304 should repeat the ETag (RFC 9110 §15.4.5); where it does not, the known ones still hold.
  state.validators = { etag: fresh.etag ?? ctx.conditional.etag, lastModified: fresh.lastModified ?? ctx.conditional.lastModified };
  ctx.report.bytesDownloaded = 0;
  if (response.finalUrl !== undefined) ctx.report.finalUrl = ctx.redactor.url(response.finalUrl);
  if (response.headers !== undefined) emit(ctx.listener, 'downloadHeaders', ctx.report, response.headers);
}

/**
 * No splice: a resumed body is accepted only from the same version of the file — the validator
 * that was sent comes back, and the whole size is the one the part file was started with.
 */
function checkContinues<D>(ctx: TransferContext<D>, state: Progress, offset: number, response: TransferResponse): void {
  const sameVersion = (response.validator ?? null) === state.validator;
  const sameSize = state.total === null || response.totalBytes === state.total;
  // A 416 says "nothing past your offset": only a size announced before says that is the whole file.
  const completeKnown = response.status !== 416 || state.total !== null;
  if (sameVersion && sameSize && completeKnown) return;
  const why = !completeKnown
    ? 'it answered 416 and no size was ever announced, so the part file may not be the whole file'
    : sameVersion
      ? `its size is now ${response.totalBytes}, not ${state.total}`
      : `its validator is now ${response.validator ?? '(none)'}, not ${state.validator}`;
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
  const actual = state.wroteDirectly ? (state.writtenDigest ?? (await digestOf(state.writer, expected.algorithm))) : state.hash.digest('hex');
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
  #onAbort: (reason: unknown) => void;
  readonly #onCancel = () => this.#abort(this.#parent.reason);
  readonly floor: ThroughputFloor | null;
  #reason: 'request' | 'minSpeed' | null = null;

  /** `onAbort` runs as the attempt's signal aborts, before any listener a backend added to it. */
  constructor(settings: ResolvedConfig, limits: SharedLimits, parent: AbortSignal, onAbort: (reason: unknown) => void) {
    this.#settings = settings;
    this.#parent = parent;
    this.#onAbort = onAbort;
    if (parent.aborted) this.#abort(parent.reason);
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
    this.#abort(undefined);
  }

  #abort(reason: unknown): void {
    if (this.#controller.signal.aborted) return;
    // The reason AbortController would give: the legs stop with the very error the signal carries.
    const why = reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
    try {
      this.#onAbort(why);
    } finally {
      this.#controller.abort(why);
    }
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
    // Whatever still reaches the deadline for a while after the attempt (a backend's handler that
    // its client keeps) must not keep the legs and their bodies alive: measured, it grew V8's
    // young generation by ~20 MiB over 2,000 small files.
    this.#onAbort = () => {};
    clearTimeout(this.#timer);
    this.#parent.removeEventListener('abort', this.#onCancel);
    this.floor?.stop();
  }
}
