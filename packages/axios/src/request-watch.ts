import { type ClientRequest, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { NectarError, ResolvedConfig } from '@nectar/core/backend';
import { type TimeoutPhase, timeoutError } from './errors.js';

/** What axios calls to make a request when given `config.transport` (node:http's signature). */
export interface Transport {
  request(options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest;
}

/**
 * Watches the node:http request axios makes for one hop, through axios' `transport` option.
 *
 * axios' own `timeout` covers connect and headers as one span and none of the body; we time
 * each phase by the config instead: connect until the request is flushed to a connected
 * socket (the proxy's CONNECT included), headers until the response arrives. It also records
 * what axios hides: the proxy's answer to CONNECT, and the Content-Encoding as sent, before
 * axios' decompression deletes it.
 */
export class RequestWatch {
  /** The timeout that ended the request, if one did: axios rejects with its own wrapper. */
  failure: NectarError | undefined;
  /** The proxy's status for CONNECT (https targets through a proxy), once answered. */
  connectStatus: number | undefined;
  /** Content-Encoding as the server sent it. */
  contentEncoding: string | undefined;
  readonly transport: Transport = { request: (options, callback) => this.#request(options, callback) };
  /** For axios' `signal`: the job's, or our timeout's. */
  readonly signal: AbortSignal;
  readonly #config: ResolvedConfig;
  readonly #url: URL;
  readonly #proxy: URL | null;
  readonly #timedOut = new AbortController();
  #timer: NodeJS.Timeout | undefined;

  constructor(config: ResolvedConfig, url: URL, proxy: URL | null, signal: AbortSignal) {
    this.#config = config;
    this.#url = url;
    this.#proxy = proxy;
    this.signal = AbortSignal.any([signal, this.#timedOut.signal]);
  }

  /** Clears the timer; called when the hop is over, whatever happened. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #request(options: RequestOptions, callback: (response: IncomingMessage) => void): ClientRequest {
    const req = options.protocol === 'https:' ? httpsRequest(options) : httpRequest(options);
    // Registered before axios' callback, which deletes content-encoding when it decodes.
    req.once('response', (response: IncomingMessage) => {
      this.dispose();
      this.contentEncoding = response.headers['content-encoding'];
    });
    req.once('response', callback);
    req.once('proxyConnect', (connect: { statusCode?: number }) => {
      this.connectStatus = connect.statusCode;
    });
    this.#arm('connect', this.#config.connectTimeout);
    // 'finish': the request left for a connected socket, so the server has it.
    req.once('finish', () => this.#arm('headers', this.#config.headersTimeout));
    req.once('close', () => this.dispose());
    return req;
  }

  #arm(phase: TimeoutPhase, ms: number): void {
    this.dispose();
    if (ms <= 0) return;
    this.#timer = setTimeout(() => {
      this.failure = timeoutError(phase, ms, this.#url, this.#proxy);
      // Through axios' signal, not req.destroy(): a request still waiting for its socket (a proxy
      // that never answers CONNECT) keeps a destroy's error until the socket comes, maybe never.
      this.#timedOut.abort(this.failure);
    }, ms);
  }
}
