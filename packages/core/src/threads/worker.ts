import { parentPort, workerData } from 'node:worker_threads';
import type { Backend, BackendEnv } from '../engine/backend.js';
import { ConcurrencyLimit } from '../limits/concurrency.js';
import type { FromWorker, StartMessage, ToWorker, WorkerSetup } from './messages.js';
import { MessageOutbox } from './outbox.js';
import { type Post, WorkerTransfer } from './worker-transfer.js';

/**
 * The entry of a transfer worker thread (dist/threads/worker.js): it imports the backend the pool
 * names, opens it once with the downloader's settings, and runs every transfer the main thread
 * sends here through it.
 */
if (parentPort === null) throw new Error('@nectar/core threads/worker.js runs as a worker thread, not on its own');
const port = parentPort;
const setup = workerData as WorkerSetup;
const proxy = setup.proxy === null ? null : { ...setup.proxy, url: new URL(setup.proxy.url) };
const outbox = new MessageOutbox<FromWorker>(port);
const post: Post = (message, transfer) => outbox.post(message, transfer);
const running = new Map<number, WorkerTransfer>();
/** The backend once opened; messages that come before wait for it, in order. */
let backend: Backend | null = null;
const opening = openBackend().then((opened) => {
  backend = opened;
});

async function openBackend(): Promise<Backend> {
  const module = (await import(setup.backend.module)) as Record<string, unknown>;
  const factory = module[setup.backend.export];
  if (typeof factory !== 'function') throw new Error(`${setup.backend.module} has no function export ${setup.backend.export}`);
  const made = (await factory(setup.backend.options)) as Backend;
  // Limits are the main thread's business (it admits transfers); a backend sizes its pools by them.
  const env: BackendEnv = { settings: setup.config, tls: setup.tls, proxy, limits: { concurrency: new ConcurrencyLimit(setup.config.maxConcurrent), speed: null } };
  await made.open?.(env);
  return made;
}

function start(opened: Backend, message: StartMessage): void {
  const transfer = new WorkerTransfer(message, { setup, backend: opened, proxy, post });
  running.set(message.id, transfer);
  void transfer.run().finally(() => running.delete(message.id));
}

async function close(opened: Backend): Promise<void> {
  for (const transfer of running.values()) transfer.abort();
  await opened.close?.();
  outbox.flush();
  // With the port closed nothing is left on this thread's loop, and the thread exits.
  port.close();
}

function handle(message: ToWorker): void {
  // A failure to open rejects `opening`: unhandled, it ends this thread, and the pool fails
  // the transfers it held with that error.
  if (backend === null) return void opening.then(() => handle(message));
  switch (message.type) {
    case 'start':
      start(backend, message);
      break;
    case 'proceed':
      running.get(message.id)?.proceed(message.limit);
      break;
    case 'abort':
      running.get(message.id)?.abort();
      break;
    case 'credit':
      running.get(message.id)?.credit();
      break;
    case 'entered':
      running.get(message.id)?.entered(message.error, message.host);
      break;
    case 'close':
      void close(backend);
      break;
  }
}

port.on('message', (messages: ToWorker[]) => {
  for (const message of messages) handle(message);
});
