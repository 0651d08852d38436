import { setMaxListeners } from 'node:events';
import { type Backend, type BackendEnv, NectarArgumentError, NectarError, type TransferJob, supportsAll } from '@nectar/core/backend';
import { WorkerPool, threadCount } from '@nectar/core/threads';

/** What `undiciBackend()` takes; a field left out is read from the downloader's config. */
export interface UndiciBackendOptions {
  /** Worker threads that run transfers; 0 runs them in-process (default: `config.threads`, else 0). */
  threads?: number;
}

/**
 * The module a worker thread imports to make its own copy of this backend: this package, resolved
 * when a pool is first built (a bundled app that never uses threads never needs it on disk). The
 * tests run src/ through vite-node, which worker threads cannot use; from there the pool is
 * pointed at the build in dist/ (the test setup builds it).
 */
function workerModule(): string {
  if (import.meta.url.endsWith('.ts')) return new URL('../dist/index.js', import.meta.url).href;
  return import.meta.resolve('@nectar/undici');
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
 * once, from the downloader's settings, TLS material and proxy, one dispatcher on the main
 * thread or, with `threads` > 0, core's worker pool, where each worker opens this same backend
 * in-process with a dispatcher of its own. One object serves one downloader: make one per
 * downloader.
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
  // On the main thread in either mode: a worker's undici gets the module from V8's process-wide cache.
  await (await import('./http/baseline-parser.js')).compileParserBaseline();
  const threads = threadCount(options.threads ?? env.settings.threads);
  if (threads === 0) return inProcess(env);
  // Workers start as the load needs them: building the pool starts none.
  const pool = new WorkerPool(threads, { module: workerModule(), export: 'undiciBackend', options: { threads: 0 } }, env);
  return { pool, transfer: (job) => pool.run(job), close: () => pool.close() };
}

/**
 * undici is loaded here, not on import: in threaded mode only the workers need it, and the main
 * thread saves its start-up time and memory.
 */
async function inProcess(env: BackendEnv): Promise<Runner> {
  const [{ createDispatcher }, { httpTransfer }] = await Promise.all([import('./http/dispatcher.js'), import('./http/transfer.js')]);
  const closing = new AbortController();
  // Every pooled SOCKS connection listens on it for its life: no MaxListenersExceededWarning at the 11th.
  setMaxListeners(0, closing.signal);
  const dispatcher = createDispatcher({ config: env.settings, tls: env.tls, proxy: env.proxy, closing: closing.signal });
  const close = () => {
    closing.abort();
    return dispatcher.close();
  };
  return { pool: undefined, transfer: (job) => httpTransfer(dispatcher, job), close };
}

function notOpen(closed: boolean): NectarError {
  if (closed) return new NectarError('NECTAR_CLOSED', 'the downloader was closed');
  return new NectarError('NECTAR_BACKEND', 'the undici backend was not opened: a downloader calls open(env) before the first transfer');
}
