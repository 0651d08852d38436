import type { Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { TransferJob } from '@nectar/core/backend';
import { type FailureContext, type Hop as CoreHop, type ResponseHeaders, contentCodings, contentLength, failureContext, followRedirects, headerValue, interpretResponse, undecodableError, unwantedBodyLimit } from '@nectar/core/http';
import type { Agents } from './agents.js';
import { watchBodyIdle } from './body-timeout.js';
import { proxyTlsError, transferError } from './errors.js';
import { RequestWatch } from './request-watch.js';
import { type Hop, hopConfig } from './request-options.js';
import { plainHeaders } from './response.js';

/** What one transfer uses of its backend: the axios instance and the downloader's agents. */
export interface Client {
  readonly axios: AxiosInstance;
  readonly agents: Agents;
}

/** A hop that got an answer. */
interface Answered extends Hop {
  readonly response: AxiosResponse<Readable>;
  readonly responseHeaders: ResponseHeaders;
}

/** One attempt: follows redirects, checks the final response, streams its body into the sink. */
export async function transfer(client: Client, job: TransferJob): Promise<void> {
  const context = failureContext(job);
  try {
    await receive(job, await follow(client, job, context));
  } catch (error) {
    // A cancel or a whole-request timeout: core recognises its own abort and reports it.
    if (job.signal.aborted) throw error;
    throw transferError(error, context);
  }
}

/** GETs the URL, following redirects by core's rule, until a response that is not one. */
async function follow(client: Client, job: TransferJob, context: FailureContext): Promise<Answered> {
  const send = async (hop: CoreHop) => {
    const answered = await get(client, job, { ...hop, watch: new RequestWatch(job.config, hop.url, context.proxy, job.signal) }, context);
    return { status: answered.response.status, location: headerValue(answered.responseHeaders, 'location'), answered };
  };
  const { answer } = await followRedirects(job, context, send, ({ answered }) => discard(job, answered));
  return answer.answered;
}

async function get(client: Client, job: TransferJob, hop: Hop, context: FailureContext): Promise<Answered> {
  try {
    const response = await client.axios.request<Readable>(hopConfig(client.axios, job, client.agents, hop));
    return { ...hop, response, responseHeaders: plainHeaders(response) };
  } catch (error) {
    hop.watch.dispose();
    // axios wraps the error our timer destroyed the request with; the original says which phase.
    throw hop.watch.failure ?? proxyTlsError(error, context, hop.watch.connectStatus) ?? error;
  }
}
/** Checks the final response, tells core what it learned, and streams the body into the sink. */
async function receive(job: TransferJob, answered: Answered): Promise<void> {
  const { response, responseHeaders: headers, url, watch } = answered;
  const body = response.data;
  try {
    const outcome = interpretResponse(job, {
      status: response.status,
      statusText: response.statusText,
      headers,
      url,
      contentEncoding: watch.contentEncoding,
      // https-proxy-agent replays a refused CONNECT's answer to the HTTP parser as the target's.
      tunnelRefused: watch.connectStatus !== undefined && watch.connectStatus !== 200,
    });
    if (outcome.kind !== 'body') {
      await discard(job, answered);
      if (outcome.kind === 'refused') throw outcome.error;
      await job.responded(outcome.response);
      return;
    }
    checkDecoded(job, headers, url);
    await job.responded(outcome.response);
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

/** axios leaves a coding it cannot decode in place; writing those bytes would be a silent lie. */
function checkDecoded(job: TransferJob, headers: ResponseHeaders, url: URL): void {
  const coding = headers['content-encoding'];
  if (job.config.decompress && contentCodings(coding).length > 0) throw undecodableError(url, String(coding));
}

/**
 * Reads a small unwanted body to its end so that its keep-alive socket serves the next hop;
 * a large or unknown one is cheaper to drop with its connection.
 */
async function discard(job: TransferJob, { response, responseHeaders: headers, url }: Answered): Promise<void> {
  const body = response.data;
  const length = contentLength(headers);
  if (length === null || length > unwantedBodyLimit) {
    body.destroy();
    return;
  }
  const stopWatching = watchBodyIdle(body, job.config.bodyTimeout, url);
  body.resume();
  await finished(body).catch(() => {});
  stopWatching();
}
