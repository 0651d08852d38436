import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { AxiosInstance, AxiosResponse } from 'axios';
import {
  Downloader,
  type DownloaderConfig,
  type DownloadEventListener,
  NectarArgumentError,
  NectarError,
  RedirectTracker,
  type Supports,
  type TransferJob,
  httpStatusError,
  isRedirect,
  redactUrl,
  supportsAll,
} from '@nectar/core';
import { type Agents, createAgents } from './agents.js';
import { watchBodyIdle } from './body-timeout.js';
import { type FailureContext, proxyRefusal, transferError } from './errors.js';
import { RequestWatch } from './request-watch.js';
import { type Hop, defaultClient, hopConfig } from './request-options.js';
import { type ResponseHeaders, announcedSize, contentLength, headerValue, isEncoded, parseContentRange, plainHeaders, resumeValidator } from './response.js';

export interface AxiosDownloaderOptions {
  /**
   * Your own axios instance: its interceptors and defaults (headers, params…) apply to every
   * request. Default: a fresh `axios.create()`, never the global `axios`.
   */
  readonly axios?: AxiosInstance;
}

/** A hop that got an answer. */
interface Answered extends Hop {
  readonly response: AxiosResponse<Readable>;
  readonly responseHeaders: ResponseHeaders;
}

/** How much of an unwanted body (a redirect's, an error page) is read to keep the socket alive. */
const discardLimit = 64 * 1024;

/**
 * Nectar's HTTP(S) downloader on axios, for applications that already use it. Each hop is one
 * axios GET with `responseType: 'stream'`; redirects, statuses, timeouts and the speed limit are
 * Nectar's, so it behaves as the undici downloader does. Bodies stream straight into core's sink.
 */
export class AxiosDownloader extends Downloader {
  readonly schemes: readonly string[] = ['http', 'https'];
  readonly supports: Supports = supportsAll(true);
  readonly #client: AxiosInstance;
  #agents: Agents | undefined;

  constructor(config?: DownloaderConfig, listener?: DownloadEventListener, options: AxiosDownloaderOptions = {}) {
    super(config, listener);
    const client = options.axios ?? defaultClient();
    if (typeof client?.request !== 'function' || typeof client.defaults !== 'object') {
      throw new NectarArgumentError('options.axios must be an axios instance (axios.create())');
    }
    this.#client = client;
  }

  protected async transfer(job: TransferJob): Promise<void> {
    const context: FailureContext = { url: job.url, proxy: job.proxy?.url ?? null };
    try {
      await receive(job, await this.#follow(job, context), context);
    } catch (error) {
      // A cancel or a whole-request timeout: core recognises its own abort and reports it.
      if (job.signal.aborted) throw error;
      throw transferError(error, context);
    }
  }

  protected override async release(): Promise<void> {
    this.#agents?.destroy();
    this.#agents = undefined;
  }

  /** Built on the first transfer, when core has loaded the TLS material, then shared by all. */
  #agentsFor(job: TransferJob): Agents {
    this.#agents ??= createAgents({ tls: job.tls, proxy: job.proxy });
    return this.#agents;
  }

  /** GETs the URL, following redirects by core's rule, until a response that is not one. */
  async #follow(job: TransferJob, context: FailureContext): Promise<Answered> {
    const tracker = new RedirectTracker(job.url, job.config);
    let url = job.url;
    let headers = requestHeaders(job);
    for (;;) {
      context.url = url;
      const crossOrigin = !job.config.trustRedirects && url.origin !== job.url.origin;
      const answered = await this.#get(job, { url, headers, crossOrigin, watch: new RequestWatch(job.config, url, job.signal) });
      const { status } = answered.response;
      if (!isRedirect(status)) return answered;
      await discard(job, answered);
      ({ url, headers } = tracker.follow(url, status, headerValue(answered.responseHeaders, 'location'), 'GET', headers));
    }
  }

  async #get(job: TransferJob, hop: Hop): Promise<Answered> {
    try {
      const response = await this.#client.request<Readable>(hopConfig(this.#client, job, this.#agentsFor(job), hop));
      return { ...hop, response, responseHeaders: plainHeaders(response) };
    } catch (error) {
      hop.watch.dispose();
      // axios wraps the error our timer destroyed the request with; the original says which phase.
      throw hop.watch.failure ?? error;
    }
  }
}

/** core's merged headers, plus the range of a resume. */
function requestHeaders(job: TransferJob): Record<string, string> {
  const headers = { ...job.headers };
  const offset = resumeOffset(job);
  if (offset > 0) {
    headers.range = `bytes=${offset}-`;
    if (job.validator !== null) headers['if-range'] = job.validator;
  }
  return headers;
}

/**
 * Decoded bytes on disk cannot be matched to a byte range of the encoded body, so a download
 * that decompresses always starts over.
 */
function resumeOffset(job: TransferJob): number {
  return job.config.decompress ? 0 : job.offset;
}

/** Checks the final response, tells core what it learned, and streams the body into the sink. */
async function receive(job: TransferJob, answered: Answered, context: FailureContext): Promise<void> {
  const { response, responseHeaders: headers, url } = answered;
  const body = response.data;
  try {
    if (response.status === 416 && (await alreadyComplete(job, answered))) return;
    if (response.status < 200 || response.status >= 300) {
      await discard(job, answered);
      throw statusError(job, answered, context);
    }
    checkDecoded(job, headers, url);
    await job.responded({
      status: response.status,
      headers,
      finalUrl: url.href,
      // Decoded bytes have no announced length; bytes written as sent keep Content-Length.
      totalBytes: job.config.decompress && isEncoded(answered.watch.contentEncoding) ? null : announcedSize(response.status, headers),
      resumed: response.status === 206 && checkRange(job, headers, url),
      validator: resumeValidator(headers),
    });
  } catch (error) {
    body.destroy();
    throw error;
  }
  const piping = pipeline(body, job.sink);
  const stopWatching = watchBodyIdle(body, job.config.bodyTimeout, url, job.sink);
  try {
    await piping;
  } finally {
    stopWatching();
  }
}

function statusError(job: TransferJob, { response, responseHeaders: headers, url, watch }: Answered, context: FailureContext): NectarError {
  const statusText = response.statusText || (STATUS_CODES[response.status] ?? '');
  const refusedTunnel = watch.connectStatus !== undefined && watch.connectStatus !== 200;
  if (job.proxy !== null && (response.status === 407 || refusedTunnel)) return proxyRefusal(response.status, statusText, context);
  return httpStatusError(response.status, statusText, url, headers);
}

/** axios leaves a coding it cannot decode in place; writing those bytes would be a silent lie. */
function checkDecoded(job: TransferJob, headers: ResponseHeaders, url: URL): void {
  const coding = headers['content-encoding'];
  if (!job.config.decompress || !isEncoded(coding)) return;
  throw new NectarError('NECTAR_NOT_SUPPORTED', `${redactUrl(url)} is sent with Content-Encoding ${String(coding)}, which config.decompress cannot decode`, {
    details: { url: redactUrl(url), contentEncoding: coding },
  });
}

/** A 206 must continue exactly where the part file ends; any other range would corrupt it. */
function checkRange(job: TransferJob, headers: ResponseHeaders, url: URL): true {
  const value = headerValue(headers, 'content-range');
  const offset = resumeOffset(job);
  if (parseContentRange(value)?.start === offset) return true;
  throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} answered a resume from byte ${offset} with Content-Range ${value ?? '(none)'}`, {
    details: { url: redactUrl(url), offset, contentRange: value },
  });
}

/**
 * A 416 to `bytes=<offset>-` whose `Content-Range: bytes *\/<size>` equals the offset means the
 * earlier attempt already got every byte: nothing is left to fetch.
 */
async function alreadyComplete(job: TransferJob, answered: Answered): Promise<boolean> {
  const offset = resumeOffset(job);
  const range = parseContentRange(headerValue(answered.responseHeaders, 'content-range'));
  if (offset === 0 || range?.size !== offset) return false;
  await discard(job, answered);
  await job.responded({ status: 416, headers: answered.responseHeaders, finalUrl: answered.url.href, totalBytes: offset, resumed: true, validator: job.validator });
  return true;
}

/**
 * Reads a small unwanted body to its end so that its keep-alive socket serves the next hop;
 * a large or unknown one is cheaper to drop with its connection.
 */
async function discard(job: TransferJob, { response, responseHeaders: headers, url }: Answered): Promise<void> {
  const body = response.data;
  const length = contentLength(headers);
  if (length === null || length > discardLimit) {
    body.destroy();
    return;
  }
  const stopWatching = watchBodyIdle(body, job.config.bodyTimeout, url);
  body.resume();
  await finished(body).catch(() => {});
  stopWatching();
}
