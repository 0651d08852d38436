import { Worker } from 'node:worker_threads';
import type { BackendEnv } from '../engine/backend.js';
import type { TransferJob } from '../engine/job.js';
import { NectarError } from '../errors.js';
import { MessageOutbox } from './outbox.js';
import { ThreadedTransfer } from './threaded-transfer.js';
import { type FromWorker, type ToWorker, type WorkerBackend, type WorkerSetup, workerSetup } from './messages.js';

/**
 * The built worker entry, dist/threads/worker.js. Built, this code sits in dist/threads.js (the
 * bundle puts it there, and scripts/bundle.mjs fails the build if it does not). Core's tests run
 * this file from src/threads/ through vite-node, which worker threads cannot use, so from src/
 * the pool loads the build in dist/ (the test setup builds it).
 */
function workerEntry(): URL {
  // Read when a worker starts, not on import: a bundle that never uses threads never needs it.
  if (import.meta.url.endsWith('.ts')) return new URL('../../dist/threads/worker.js', import.meta.url);
  return new URL('./threads/worker.js', import.meta.url);
}

/** How long close() lets a worker close its sockets before it is terminated. */
const closeGrace = 2000;

/** One worker thread and the transfers it runs. */
class TransferThread {
  readonly worker: Worker;
  readonly transfers = new Map<number, ThreadedTransfer>();
  alive = true;
  readonly exited: Promise<void>;
  #crash: Error | undefined;
  readonly #outbox: MessageOutbox<ToWorker>;

  constructor(setup: WorkerSetup, onExit: (thread: TransferThread) => void) {
    this.worker = new Worker(workerEntry(), { workerData: setup, name: `nectar-${setup.backend.export}` });
    // An idle pool must not keep the process alive; a busy one holds it like a socket would.
    this.worker.unref();
    this.#outbox = new MessageOutbox(this.worker);
    this.worker.on('message', (messages: FromWorker[]) => {
      for (const message of messages) this.transfers.get(message.id)?.handle(message);
    });
    // An uncaught error in the worker ends it; 'exit' follows and fails what it was running,
    // with this error as the reason the reports show.
    this.worker.on('error', (error) => {
      this.#crash ??= error;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code) => {
        this.alive = false;
        this.#lost(code);
        onExit(this);
        resolve();
      });
    });
  }

  post(message: ToWorker): void {
    if (this.alive) this.#outbox.post(message);
  }

  add(transfer: ThreadedTransfer): void {
    if (this.transfers.size === 0) this.worker.ref();
    this.transfers.set(transfer.id, transfer);
  }

  remove(transfer: ThreadedTransfer): void {
    this.transfers.delete(transfer.id);
    if (this.transfers.size === 0) this.worker.unref();
  }

  /** A retry goes to another worker: the lost transfers are retryable. */
  #lost(code: number): void {
    const why = this.#crash === undefined ? `exit code ${code}` : `${this.#crash.name}: ${this.#crash.message}`;
    for (const transfer of this.transfers.values()) {
      transfer.lost(
        new NectarError('NECTAR_BACKEND', `the worker thread running this transfer stopped (${why}); the ${this.transfers.size} transfers it ran failed with it (retryable: a retry gets another worker)`, {
          retryable: true,
          cause: this.#crash,
          details: { exitCode: code, workerError: this.#crash?.message },
        }),
      );
    }
  }
}

/**
 * Core's thread executor: worker threads that run a backend's `transfer()`, started as the load
 * needs them, up to `size`. Each worker imports the backend named by `backend` and opens it once
 * with the downloader's env (an HTTP backend: its own keep-alive sockets); the body goes straight
 * from the worker into the part file. A transfer goes to the least busy worker, and to the first
 * among equals, so that a sequential download keeps reusing one connection.
 */
export class WorkerPool {
  readonly #size: number;
  readonly #setup: WorkerSetup;
  readonly #threads: TransferThread[] = [];
  #nextId = 0;
  #closed = false;

  constructor(size: number, backend: WorkerBackend, env: BackendEnv) {
    this.#size = size;
    this.#setup = workerSetup(backend, env);
  }

  /** The live workers, for tests that kill one. */
  get workers(): readonly Worker[] {
    return this.#threads.map((t) => t.worker);
  }

  /** Runs one attempt of `job` in a worker; settles once the worker has let go of the part file. */
  async run(job: TransferJob): Promise<void> {
    if (this.#closed) throw new NectarError('NECTAR_CLOSED', 'the downloader was closed');
    const thread = this.#pick();
    const transfer = new ThreadedTransfer(++this.#nextId, job, (message) => thread.post(message));
    thread.add(transfer);
    try {
      transfer.start();
      await transfer.result;
    } finally {
      thread.remove(transfer);
    }
  }

  /** Asks every worker to close its dispatcher and end; terminates one that does not in time. */
  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.splice(0);
    await Promise.all(threads.map((thread) => this.#stop(thread)));
  }

  async #stop(thread: TransferThread): Promise<void> {
    thread.worker.ref();
    thread.post({ type: 'close' });
    const timer = setTimeout(() => void thread.worker.terminate(), closeGrace);
    await thread.exited;
    clearTimeout(timer);
  }

  #pick(): TransferThread {
    let best: TransferThread | undefined;
    for (const thread of this.#threads) if (best === undefined || thread.transfers.size < best.transfers.size) best = thread;
    if (best !== undefined && (best.transfers.size === 0 || this.#threads.length >= this.#size)) return best;
    const thread = new TransferThread(this.#setup, (gone) => this.#forget(gone));
    this.#threads.push(thread);
    return thread;
  }

  /** A worker that exited is replaced by the next #pick() that needs one. */
  #forget(thread: TransferThread): void {
    const i = this.#threads.indexOf(thread);
    if (i !== -1) this.#threads.splice(i, 1);
  }
}
