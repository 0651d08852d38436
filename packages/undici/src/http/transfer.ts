import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TransferJob } from '@nectar/core/backend';
import { failureContext } from '@nectar/core/http';
import type { Dispatcher } from 'undici';
import { transferError } from './errors.js';
import { type Response, readAnswer, requestFinal } from './exchange.js';

/** One attempt on the main thread: follows redirects on `dispatcher`, hands the body to core chunk by chunk. */
export async function httpTransfer(dispatcher: Dispatcher, job: TransferJob): Promise<void> {
  const context = failureContext(job);
  try {
    const { response, url } = await requestFinal(dispatcher, job, context);
    await receive(job, response, url);
  } catch (error) {
    // A cancel or a whole-request timeout: core recognises its own abort and reports it.
    if (job.signal.aborted) throw error;
    throw transferError(error, context);
  }
}

/** Checks the final response, tells core what it learned, and writes the body. */
async function receive(job: TransferJob, response: Response, url: URL): Promise<void> {
  try {
    const { response: answer, decoders } = await readAnswer(job, response, url);
    await job.responded(answer);
    if (decoders === null) return;
    // The common case, a body as sent: each chunk straight to core's writer, no stream between.
    if (decoders.length === 0) await response.consume((chunk) => job.body.write([chunk], chunk.byteLength));
    else await pipeline([response.stream(), ...decoders, job.sink] as [Readable, ...NodeJS.ReadWriteStream[], NodeJS.WritableStream]);
    // undici hands the socket back to its pool one event-loop turn after the body ends (in case
    // the server closes it anyway): the next request of this downloader can then reuse it.
    await new Promise(setImmediate);
  } catch (error) {
    // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
    response.drop();
    throw error;
  }
}
