/**
 * @nectar/core/threads, for implementors: core's thread executor. A backend whose module a worker
 * can import runs its `transfer()` in worker threads with `new WorkerPool(threads, { module,
 * export }, env)`: the worker opens its own copy of the backend once, and writes each body
 * straight into the part file with core's positioned writer.
 */
export type { WorkerBackend } from './threads/messages.js';
export { WorkerPool } from './threads/pool.js';
export { threadCount } from './threads/thread-count.js';
