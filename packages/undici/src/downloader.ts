import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  Downloader,
  type FailureContext,
  RedirectTracker,
  type Supports,
  type TransferJob,
  contentCodings,
  failureContext,
  headerValue,
  interpretResponse,
  isRedirect,
  rangeHeaders,
  supportsAll,
  unwantedBodyLimit,
} from '@nectar/core';
import type { Dispatcher } from 'undici';
import { contentDecoders } from './content-decoding.js';
import { createDispatcher } from './dispatcher.js';
import { transferError } from './errors.js';

type Response = Dispatcher.ResponseData;

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
    const context = failureContext(job);
    try {
      const { response, url } = await this.#follow(job, context);
      await receive(job, response, url);
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
  async #follow(job: TransferJob, context: FailureContext): Promise<{ response: Response; url: URL }> {
    const tracker = new RedirectTracker(job.url, job.config);
    let url = job.url;
    let headers = { ...job.headers, ...rangeHeaders(job) };
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

/** Checks the final response, tells core what it learned, and streams the body into the sink. */
async function receive(job: TransferJob, response: Response, url: URL): Promise<void> {
  try {
    await accept(job, response, url);
  } catch (error) {
    // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
    response.body.destroy();
    throw error;
  }
}

async function accept(job: TransferJob, { statusCode: status, statusText, headers, body }: Response, url: URL): Promise<void> {
  const outcome = interpretResponse(job, { status, statusText, headers, url });
  if (outcome.kind !== 'body') {
    await discard(body);
    if (outcome.kind === 'refused') throw outcome.error;
    await job.responded(outcome.response);
    return;
  }
  const decoders = job.config.decompress ? contentDecoders(contentCodings(headers['content-encoding']), url) : [];
  await job.responded(outcome.response);
  await pipeline([body, ...decoders, job.sink] as [Readable, ...NodeJS.ReadWriteStream[], NodeJS.WritableStream]);
}

/** Reads a little of an unwanted body so that its connection can be reused, else closes it. */
async function discard(body: Response['body']): Promise<void> {
  await body.dump({ limit: unwantedBodyLimit }).catch(() => {});
}
