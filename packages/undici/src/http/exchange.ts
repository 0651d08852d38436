import type { Transform } from 'node:stream';
import type { TransferJob, TransferResponse } from '@nectar/core/backend';
import { type FailureContext, type Hop, contentCodings, followRedirects, headerValue, interpretResponse } from '@nectar/core/http';
import type { Dispatcher } from 'undici';
import { contentDecoders } from './content-decoding.js';
import { type RawResponse, dispatchGet } from './raw-response.js';

export type Response = RawResponse;

/** What one HTTP attempt reads from its job (in a worker thread too: core's executor builds a whole job there). */
export type Exchange = Pick<TransferJob, 'url' | 'headers' | 'config' | 'offset' | 'validator' | 'range' | 'proxy' | 'signal' | 'hosts'>;

/** What to tell core about the final response, and how to decode its body (null: no body to read). */
export interface Answer {
  readonly response: TransferResponse;
  readonly decoders: Transform[] | null;
}

/**
 * GETs the URL, following redirects with core's driver rather than in undici, so that DESIGN's
 * rule applies (credentials dropped cross-origin, loops detected), until a response that is not
 * a redirect.
 */
export async function requestFinal(dispatcher: Dispatcher, exchange: Exchange, context: FailureContext): Promise<{ response: Response; url: URL }> {
  const send = async ({ url, headers }: Hop) => {
    const response = await dispatchGet(dispatcher, url, headers, exchange.signal);
    return { status: response.statusCode, location: headerValue(response.headers, 'location'), response };
  };
  const drop = async ({ response }: { response: Response }) => {
    await response.discard();
    // undici hands a socket back to its pool one event-loop turn after a response ends (in
    // case the server closes it anyway); waiting that turn lets the next hop reuse it.
    await new Promise(setImmediate);
  };
  const { answer, url } = await followRedirects(exchange, context, send, drop);
  return { response: answer.response, url };
}

/** Reads the final response by core's rule; a refusal is thrown once its body is drained. */
export async function readAnswer(exchange: Exchange, response: Response, url: URL): Promise<Answer> {
  const { statusCode: status, statusText, headers } = response;
  const outcome = interpretResponse(exchange, { status, statusText, headers, url });
  if (outcome.kind !== 'body') {
    await response.discard();
    if (outcome.kind === 'refused') throw outcome.error;
    return { response: outcome.response, decoders: null };
  }
  const decoders = exchange.config.decompress ? contentDecoders(contentCodings(headers['content-encoding']), url) : [];
  return { response: outcome.response, decoders };
}
