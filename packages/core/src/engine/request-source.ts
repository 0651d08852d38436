import { NectarArgumentError } from '../errors.js';
import { describe } from '../request.js';

/**
 * Reading a caller's request source (an Iterable or AsyncIterable) lazily, and letting go of it:
 * the one owner of these rules for every downloader, the queue's producer included.
 */

/** The iterator's result, or null once the signal aborts (the read itself is abandoned). */
export async function untilAborted<T>(read: Promise<T>, signal: AbortSignal): Promise<T | null> {
  if (signal.aborted) return null;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<null>((resolve) => {
    onAbort = () => resolve(null);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([read, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort as () => void);
  }
}

/**
 * Lets the source clean up (a generator's finally blocks). Not awaited while a read is still
 * pending: an async generator queues return() behind it, and that read may never end.
 */
export async function closeSource<T>(iterator: AsyncIterator<T> | Iterator<T>, pending: Promise<unknown> | null): Promise<void> {
  try {
    if (pending === null) {
      await iterator.return?.();
      return;
    }
    pending.catch(() => {});
    Promise.resolve(iterator.return?.()).catch(() => {});
  } catch {
    // A source whose return() throws has nothing left for us to release.
  }
}

/** Whether an iterator's answer must be awaited (an async source's), not read at once. */
export function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as PromiseLike<T>).then === 'function';
}

export function iterate<T>(source: Iterable<T> | AsyncIterable<T>): AsyncIterator<T> | Iterator<T> {
  if (source !== null && typeof source === 'object') {
    const asyncFactory = (source as AsyncIterable<T>)[Symbol.asyncIterator];
    if (typeof asyncFactory === 'function') return asyncFactory.call(source);
    const factory = (source as Iterable<T>)[Symbol.iterator];
    if (typeof factory === 'function' && typeof source !== 'string') return factory.call(source);
  }
  throw new NectarArgumentError(`requests must be an Iterable or AsyncIterable of DownloadRequest, got ${describe(source)}`);
}

