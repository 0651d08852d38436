import { parentPort, workerData } from 'node:worker_threads';
import { SpeedLimiter } from '@nectar/core/backend';
import { createDispatcher } from './http/dispatcher.js';
import { MessageOutbox } from './threads/outbox.js';
import type { FromWorker, StartMessage, ToWorker, WorkerSetup } from './threads/messages.js';
import { type Post, WorkerTransfer } from './threads/worker-transfer.js';

/**
 * The entry of a transfer worker thread (dist/worker.js): one undici dispatcher, built from the
 * downloader's settings, serving every transfer the main thread sends here.
 */
if (parentPort === null) throw new Error('@nectar/undici worker.js runs as a worker thread, not on its own');
const port = parentPort;
const setup = workerData as WorkerSetup;
const dispatcher = createDispatcher({ ...setup, proxy: setup.proxy === null ? null : { ...setup.proxy, url: new URL(setup.proxy.url) } });
const outbox = new MessageOutbox<FromWorker>(port);
const post: Post = (message, transfer) => outbox.post(message, transfer);
const running = new Map<number, WorkerTransfer>();
/** One limiter per shared budget: they are stateless views, but building one per file is waste. */
const limiters = new Map<SharedArrayBuffer, SpeedLimiter>();

function limiter(start: StartMessage): SpeedLimiter | null {
  if (start.limiter === null) return null;
  const { state, bytesPerSecond } = start.limiter;
  let shared = limiters.get(state);
  if (shared === undefined) {
    shared = new SpeedLimiter(bytesPerSecond, state);
    limiters.set(state, shared);
  }
  return shared;
}

function start(message: StartMessage): void {
  const transfer = new WorkerTransfer(message, { setup, dispatcher, post, limiter });
  running.set(message.id, transfer);
  void transfer.run().finally(() => running.delete(message.id));
}

async function close(): Promise<void> {
  for (const transfer of running.values()) transfer.abort();
  await dispatcher.close();
  outbox.flush();
  // With the port closed nothing is left on this thread's loop, and the thread exits.
  port.close();
}

function handle(message: ToWorker): void {
  switch (message.type) {
    case 'start':
      start(message);
      break;
    case 'proceed':
      running.get(message.id)?.proceed();
      break;
    case 'abort':
      running.get(message.id)?.abort();
      break;
    case 'credit':
      running.get(message.id)?.credit();
      break;
    case 'close':
      void close();
      break;
  }
}

port.on('message', (messages: ToWorker[]) => {
  for (const message of messages) handle(message);
});
