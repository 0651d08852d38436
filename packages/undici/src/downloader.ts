import { STATUS_CODES } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Downloader,
  NectarError,
  RedirectTracker,
  type Supports,
  type TransferJob,
  httpStatusError,
  isRedirect,
  redactUrl,
  supportsAll,
} from '@nectar/core';
import type { Dispatcher } from 'undici';
import { contentDecoders } from './content-decoding.js';
import { createDispatcher } from './dispatcher.js';
import { type FailureContext, proxyAuthError, transferError } from './errors.js';
import { type IncomingHttpHeaders, contentCodings, contentLength, headerValue, parseContentRange, resumeValidator } from './response.js';

type Response = Dispatcher.ResponseData;

/** How much of an unwanted body (a redirect's, an error page) is read to keep the socket alive. */
const discardLimit = 64 * 1024;

/**
 * Nectar's HTTP(S) downloader on undici: keep-alive pools per origin, proxies through undici's
 * ProxyAgent, bodies streamed straight into core's sink. Redirects are followed here, not by
 * undici, so that DESIGN's rule (credentials dropped cross-origin, loops detected) applies.
 */
export class UndiciDownloader extends Downloader {
  readonly schemes: readonly string[] = ['http', 'https'];
  readonly supports: Supports = supportsAll(true);
  #dispatcher: Dispatcher | undefined;

  protected async transfer(job: TransferJob): Promise<void> {
    const context = { url: job.url, proxy: job.proxy?.url ?? null };
    try {
      const { response, url } = await this.#follow(job, context);
      await receive(job, response, url, context);
    } catch (error) {
      // A cancel or a whole-request timeout: core recognises its own abort and reports it.
      if (job.signal.aborted) throw error;
      throw transferError(error, context);
    }
  }

  protected override async release(): Promise<void> {
    const dispatcher = this.#dispatcher;
    this.#dispatcher = undefined;
    await dispatcher?.close();
  }

  /** Built on the first transfer, when core has loaded the TLS material, then shared by all. */
  #pool(job: TransferJob): Dispatcher {
    this.#dispatcher ??= createDispatcher({ config: job.config, tls: job.tls, proxy: job.proxy });
    return this.#dispatcher;
  }

  /** GETs the URL, following redirects by core's rule, until a response that is not one. */
  async #follow(job: TransferJob, context: { url: URL }): Promise<{ response: Response; url: URL }> {
    const tracker = new RedirectTracker(job.url, job.config);
    let url = job.url;
    let headers = requestHeaders(job);
    for (;;) {
      context.url = url;
      const response = await this.#pool(job).request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        headers,
        signal: job.signal,
      });
      if (!isRedirect(response.statusCode)) return { response, url };
      await discard(response.body);
      // undici hands a socket back to its pool one event-loop turn after a response ends (in
      // case the server closes it anyway); waiting that turn lets the next hop reuse it.
      await new Promise(setImmediate);
      ({ url, headers } = tracker.follow(url, response.statusCode, headerValue(response.headers, 'location'), 'GET', headers));
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
async function receive(job: TransferJob, response: Response, url: URL, context: FailureContext): Promise<void> {
  try {
    await accept(job, response, url, context);
  } catch (error) {
    // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
    response.body.destroy();
    throw error;
  }
}

async function accept(job: TransferJob, response: Response, url: URL, context: FailureContext): Promise<void> {
  const { statusCode, headers, body } = response;
  if (statusCode === 416 && (await alreadyComplete(job, response, url))) return;
  if (statusCode < 200 || statusCode >= 300) {
    await discard(body);
    if (statusCode === 407) throw proxyAuthError(context);
    throw httpStatusError(statusCode, response.statusText || (STATUS_CODES[statusCode] ?? ''), url, headers);
  }
  const decoders = job.config.decompress ? contentDecoders(contentCodings(headers), url) : [];
  const resumed = statusCode === 206 && checkRange(job, headers, url);
  await job.responded({
    status: statusCode,
    headers,
    finalUrl: url.href,
    // Decoded bytes have no announced length.
    totalBytes: decoders.length > 0 ? null : totalBytes(statusCode, headers),
    resumed,
    validator: resumeValidator(headers),
  });
  await pipeline([body, ...decoders, job.sink] as [Readable, ...NodeJS.ReadWriteStream[], NodeJS.WritableStream]);
}

/** The whole file's size: Content-Length of a 200, the size in Content-Range of a 206. */
function totalBytes(status: number, headers: IncomingHttpHeaders): number | null {
  if (status === 206) return parseContentRange(headerValue(headers, 'content-range'))?.size ?? null;
  return contentLength(headers);
}

/** A 206 must continue exactly where the part file ends; any other range would corrupt it. */
function checkRange(job: TransferJob, headers: IncomingHttpHeaders, url: URL): true {
  const range = parseContentRange(headerValue(headers, 'content-range'));
  const offset = resumeOffset(job);
  if (range?.start === offset) return true;
  throw new NectarError('NECTAR_RESUME', `${redactUrl(url)} answered a resume from byte ${offset} with Content-Range ${headerValue(headers, 'content-range') ?? '(none)'}`, {
    details: { url: redactUrl(url), offset, contentRange: headerValue(headers, 'content-range') },
  });
}

/**
 * A 416 to `bytes=<offset>-` whose `Content-Range: bytes *\/<size>` equals the offset means the
 * earlier attempt already got every byte: nothing is left to fetch.
 */
async function alreadyComplete(job: TransferJob, response: Response, url: URL): Promise<boolean> {
  const offset = resumeOffset(job);
  const range = parseContentRange(headerValue(response.headers, 'content-range'));
  if (offset === 0 || range?.size !== offset) return false;
  await discard(response.body);
  await job.responded({ status: 416, headers: response.headers, finalUrl: url.href, totalBytes: offset, resumed: true, validator: job.validator });
  return true;
}

/** Reads a little of an unwanted body so that its connection can be reused, else closes it. */
async function discard(body: Response['body']): Promise<void> {
  await body.dump({ limit: discardLimit }).catch(() => {});
}
