import type { Readable, Writable } from 'node:stream';
import { timeoutError } from './errors.js';

/**
 * Fails a body that stays silent for `ms` (config.bodyTimeout): axios' timeout ends with the
 * headers, so without this a stalled server hangs the download for good. Time the sink holds
 * the body back (the speed limit, a slow disk) is ours, not the server's, and does not count.
 * Returns the function that stops watching; it also stops by itself when the body ends.
 */
export function watchBodyIdle(body: Readable, ms: number, url: URL, sink?: Writable): () => void {
  if (ms <= 0) return () => {};
  const timer = setTimeout(() => {
    if (sink?.writableNeedDrain === true) timer.refresh();
    else body.destroy(timeoutError('body', ms, url));
  }, ms);
  const refresh = () => timer.refresh();
  const stop = () => {
    clearTimeout(timer);
    body.off('data', refresh);
    body.off('end', stop);
    body.off('close', stop);
    sink?.off('drain', refresh);
  };
  body.on('data', refresh);
  body.once('end', stop);
  body.once('close', stop);
  sink?.on('drain', refresh);
  return stop;
}
