import { Agent, type IncomingMessage, request } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Downloader, type DownloaderConfig, type DownloadEventListener, NectarError, type Supports, supportsAll, type TransferJob } from '@nectar/core/backend';
import { contentCodings, interpretResponse, isRedirect, RedirectTracker, undecodableError } from '@nectar/core/http';

/**
 * The smallest honest backend: plain http over node:http. It shows what the base class does for
 * a backend, and the suite must pass on it. It declares no proxy, TLS or resume, so the suite
 * checks that those fail clearly instead.
 */
export class ReferenceDownloader extends Downloader {
  readonly schemes = ['http'];
  readonly supports: Supports = { ...supportsAll(false), headers: true, basicAuth: true, maxSpeed: true, streamDestination: true, redirects: true };
  readonly #agent = new Agent({ keepAlive: true });

  constructor(config?: DownloaderConfig, listener?: DownloadEventListener) {
    super(config, listener);
  }

  protected async transfer(job: TransferJob): Promise<void> {
    const redirects = new RedirectTracker(job.url, job.config);
    let url = job.url;
    let headers = { ...job.headers };
    for (;;) {
      const response = await this.#get(url, headers, job);
      const status = response.statusCode ?? 0;
      if (isRedirect(status)) {
        response.resume();
        ({ url, headers } = redirects.follow(url, status, response.headers.location, 'GET', headers));
        continue;
      }
      // core's one reading of a final response: statuses, a 206 nobody asked for, the size.
      const outcome = interpretResponse(job, { status, statusText: response.statusMessage ?? '', headers: response.headers, url });
      if (outcome.kind === 'refused') {
        response.resume();
        throw outcome.error;
      }
      // This backend decodes nothing: with decompress, any coding is one it cannot undo.
      const coding = contentCodings(response.headers['content-encoding'])[0];
      if (job.config.decompress && coding !== undefined) {
        response.resume();
        throw undecodableError(url, coding);
      }
      await job.responded(outcome.response);
      await pipeline(response, job.sink);
      return;
    }
  }

  #get(url: URL, headers: Record<string, string>, job: TransferJob): Promise<IncomingMessage> {
    return new Promise((resolve, reject) => {
      let response: IncomingMessage | undefined;
      const req = request(url, { headers, agent: this.#agent, signal: job.signal }, (res) => {
        response = res;
        resolve(res);
      });
      req.on('error', reject);
      // An idle socket (a stalled body) fails the request rather than hanging forever.
      req.setTimeout(job.config.bodyTimeout, () => {
        const error = new NectarError('NECTAR_TIMEOUT', `no data from ${url.href} for ${job.config.bodyTimeout} ms`, { retryable: true });
        // Once the response has begun, its stream is what the body pipeline sees failing.
        response?.destroy(error);
        req.destroy(error);
      });
      req.end();
    });
  }

  protected override async release(): Promise<void> {
    this.#agent.destroy();
  }
}
