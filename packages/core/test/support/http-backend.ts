import { Agent, type IncomingMessage, get } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { type Backend, supportsAll, toNectarError } from '../../src/backend.js';
import { failureContext, followRedirects, headerValue, interpretResponse } from '../../src/http.js';

/**
 * A reference HTTP backend on node:http for core's own tests: core's redirect driver and response
 * reading, nothing else, so that what a test measures is core's rule, not a transport's.
 */
export function nodeHttpBackend(): Backend {
  const agent = new Agent({ keepAlive: true });
  return {
    name: 'node-http',
    schemes: ['http'],
    supports: { ...supportsAll(true), http2: false },
    async transfer(job) {
      const context = failureContext(job);
      const send = ({ url, headers }: { url: URL; headers: Record<string, string> }) =>
        new Promise<{ status: number; location: string | undefined; message: IncomingMessage }>((resolve, reject) => {
          const request = get(url, { headers, agent, signal: job.signal }, (message) =>
            resolve({ status: message.statusCode ?? 0, location: headerValue(message.headers, 'location'), message }),
          );
          request.on('error', reject);
        });
      try {
        const { answer, url } = await followRedirects(job, context, send, async ({ message }) => void message.resume());
        const outcome = interpretResponse(job, { status: answer.status, headers: answer.message.headers, url });
        if (outcome.kind === 'refused') {
          answer.message.resume();
          throw outcome.error;
        }
        await job.responded(outcome.response);
        await pipeline(answer.message, job.sink);
      } catch (error) {
        throw job.signal.aborted ? error : toNectarError(error);
      }
    },
    async close() {
      agent.destroy();
    },
  };
}
