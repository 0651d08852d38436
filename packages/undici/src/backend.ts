import { type Backend, type BackendEnv, NectarArgumentError, NectarError, type TransferJob, supportsAll } from '@nectar/core/backend';
import { httpTransfer } from './http/transfer.js';
import { workerSetup } from './threads/messages.js';
import { WorkerPool } from './threads/pool.js';
import { segmentCount, threadCount } from './threads/thread-count.js';

/** What `undiciBackend()` takes; a field left out is read from the downloader's config. */
export interface UndiciBackendOptions {
  /** Worker threads that run transfers; 0 runs them in-process (default: `config.threads`, else 0). */
  threads?: number;
  /** In threaded mode, fetch one large file served in ranges over up to this many connections (default: `config.segments`, else 1: never). */
  segments?: number;
}

/** The undici backend object, with the worker pool it runs. */
export interface UndiciBackend extends Backend {
  /** The worker pool, for tests that kill a worker; undefined in-process, before open() and after close(). */
  readonly workerPool: WorkerPool | undefined;
}

/** How an opened backend moves bytes: on the main thread through one dispatcher, or in its worker pool. */
interface Runner {
  readonly pool: WorkerPool | undefined;
  transfer(job: TransferJob): Promise<void>;
  close(): Promise<void>;
}

/**
 * Nectar's HTTP(S) backend on undici, as a plain object for core's engine: `open(env)` builds,
 * once, from the downloader's settings, TLS material and proxy, either the worker pool (each
 * worker with its own undici dispatcher) or, with `threads: 0`, one dispatcher on the main thread.
 * One object serves one downloader: make one per downloader.
 */
export function undiciBackend(options: UndiciBackendOptions = {}): UndiciBackend {
  let opening: Promise<Runner> | undefined;
  let runner: Runner | undefined;
  let closed = false;
  return {
    name: 'undici',
    schemes: ['http', 'https'],
    supports: supportsAll(true),
    get workerPool() {
      return runner?.pool;
    },
    async open(env) {
      if (opening !== undefined) throw new NectarArgumentError('an undici backend serves one downloader; make one per downloader with undiciBackend()');
      opening = openRunner(env, options);
      const opened = await opening;
      // close() may have come while undici was loading: it closes what opened, and nothing is kept.
      if (!closed) runner = opened;
    },
    transfer(job) {
      if (runner === undefined) return Promise.reject(notOpen(closed));
      return runner.transfer(job);
    },
    async close() {
      if (closed) return;
      closed = true;
      runner = undefined;
      const opened = await opening?.catch(() => undefined);
      await opened?.close();
    },
  };
}

async function openRunner(env: BackendEnv, options: UndiciBackendOptions): Promise<Runner> {
  const threads = threadCount(options.threads ?? env.settings.threads);
  const segments = segmentCount(options.segments ?? env.settings.segments);
  if (threads === 0) return inProcess(env);
  // Workers start as the load needs them: building the pool starts none.
  const pool = new WorkerPool(threads, workerSetup(env), segments);
  return { pool, transfer: (job) => pool.run(job), close: () => pool.close() };
}

/**
 * undici is loaded here, not on import: in threaded mode only the workers need it, and the main
 * thread saves its start-up time and memory.
 */
async function inProcess(env: BackendEnv): Promise<Runner> {
  const { createDispatcher } = await import('./http/dispatcher.js');
  const dispatcher = createDispatcher({ config: env.settings, tls: env.tls, proxy: env.proxy });
  return { pool: undefined, transfer: (job) => httpTransfer(dispatcher, job), close: () => dispatcher.close() };
}

function notOpen(closed: boolean): NectarError {
  if (closed) return new NectarError('NECTAR_CLOSED', 'the downloader was closed');
  return new NectarError('NECTAR_BACKEND', 'the undici backend was not opened: a downloader calls open(env) before the first transfer');
}
