import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { TransferJob } from '@nectar/core/backend';
import { failureContext } from '@nectar/core/http';
import type { Dispatcher } from 'undici';
import { transferError } from './errors.js';
import { type Response, dropBody, readAnswer, requestFinal } from './exchange.js';

/** One attempt on the main thread: follows redirects on `dispatcher`, streams the body into core's sink. */
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

/** Checks the final response, tells core what it learned, and streams the body into the sink. */
async function receive(job: TransferJob, response: Response, url: URL): Promise<void> {
  try {
    const { response: answer, decoders } = await readAnswer(job, response, url);
    await job.responded(answer);
    if (decoders === null) return;
    await pipeline([response.body, ...decoders, job.sink] as [Readable, ...NodeJS.ReadWriteStream[], NodeJS.WritableStream]);
  } catch (error) {
    // A body nobody reads keeps its connection busy and the server sending bytes that go nowhere.
    dropBody(response.body);
    throw error;
  }
}
