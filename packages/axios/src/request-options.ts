import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import type { TransferJob } from '@nectar/core/backend';
import type { Agents } from './agents.js';
import type { RequestWatch } from './request-watch.js';

/**
 * The instance used when the caller brings none: a fresh one, so that interceptors an application
 * put on the global `axios` do not reach the downloader unasked. `Accept: *\/*` replaces axios'
 * default JSON-first Accept, which content-negotiating servers would answer with something else
 * than the file.
 */
export function defaultClient(): AxiosInstance {
  const client = axios.create();
  client.defaults.headers.common.Accept = '*/*';
  return client;
}

/** One GET of one hop. */
export interface Hop {
  readonly url: URL;
  /** Exactly what to send: core's merged headers, as the redirect rule left them. */
  readonly headers: Readonly<Record<string, string>>;
  /** The hop goes to another origin than the request's, with trustRedirects off. */
  readonly crossOrigin: boolean;
  readonly watch: RequestWatch;
}

/**
 * The axios config of one hop. Everything that decides which bytes land on disk is ours and
 * overrides the instance's defaults: the body as a stream, no redirects followed by axios (core's
 * RedirectTracker decides), every status resolved (core's httpStatusError reports it), our
 * agents instead of axios' proxy support, our timers instead of its `timeout`, no size cap but
 * config.maxFileSize.
 */
export function hopConfig(client: AxiosInstance, job: TransferJob, agents: Agents, hop: Hop): AxiosRequestConfig {
  return {
    url: withoutCredentials(hop.url),
    method: 'GET',
    headers: { ...(hop.crossOrigin ? maskedDefaults(client, hop.headers, job.config.redirectHeaders) : {}), ...hop.headers },
    adapter: 'http',
    responseType: 'stream',
    maxRedirects: 0,
    decompress: job.config.decompress,
    validateStatus: () => true,
    signal: hop.watch.signal,
    proxy: false,
    httpAgent: agents.http,
    httpsAgent: agents.https,
    transport: hop.watch.transport,
    timeout: 0,
    maxContentLength: -1,
  };
}

/**
 * A URL's user-info would become axios' `auth`, replacing the Authorization header core built
 * from the config; like the undici downloader, credentials come from the config only.
 */
function withoutCredentials(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const bare = new URL(url);
  bare.username = '';
  bare.password = '';
  return bare.href;
}

const methodKeys = new Set(['common', 'delete', 'get', 'head', 'post', 'put', 'patch', 'options', 'purge', 'link', 'unlink', 'query']);

/**
 * axios merges the instance's default headers into every request, so on a cross-origin hop an
 * `Authorization` or `X-Api-Key` set as a default would leak past core's redirect rule. Each
 * default header not kept by the rule is sent as `false`, which axios leaves out.
 */
function maskedDefaults(client: AxiosInstance, kept: Readonly<Record<string, string>>, keepList: readonly string[]): Record<string, false> {
  const keep = new Set([...Object.keys(kept), ...keepList.map((name) => name.toLowerCase())]);
  const masked: Record<string, false> = {};
  for (const name of defaultHeaderNames(client)) if (!keep.has(name)) masked[name] = false;
  return masked;
}

function defaultHeaderNames(client: AxiosInstance): string[] {
  const names: string[] = [];
  for (const [key, value] of Object.entries(client.defaults.headers)) {
    if (!methodKeys.has(key)) names.push(key.toLowerCase());
    else if ((key === 'common' || key === 'get') && typeof value === 'object' && value !== null) {
      names.push(...Object.keys(value).map((name) => name.toLowerCase()));
    }
  }
  return names;
}
