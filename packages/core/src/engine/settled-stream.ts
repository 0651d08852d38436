/** What a run gets from `settledStream`: where to put a settled item, and when to read on. */
export interface SettledStreamHooks<R> {
  onSettle(item: R): void;
  /** Resolves once the consumer has room again; await it before reading another request. */
  gate(): Promise<void>;
}

/**
 * Turns a run that reports items as they settle into an async generator yielding them in that
 * order, with at most `bound` unconsumed: the run waits at `gate()` while the consumer lags, so
 * memory stays bounded however many requests there are. Leaving the loop early aborts `stop`
 * and waits for the run to end. Every downloader's `stream()` is this, over its own scheduler.
 */
export async function* settledStream<R>(
  start: (hooks: SettledStreamHooks<R>) => Promise<void>,
  options: { bound: number; signal: AbortSignal; stop: AbortController },
): AsyncGenerator<R, void, undefined> {
  const { bound, signal, stop } = options;
  const settled: R[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  let failure: unknown;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  const changed = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });
  const hooks: SettledStreamHooks<R> = {
    onSettle(item) {
      settled.push(item);
      notify();
    },
    async gate() {
      while (settled.length >= bound && !signal.aborted) await changed();
    },
  };
  const run = start(hooks).then(
    () => {
      done = true;
    },
    (error: unknown) => {
      failure = error;
      done = true;
    },
  );
  void run.finally(notify);
  try {
    for (;;) {
      const item = settled.shift();
      if (item !== undefined) {
        notify();
        yield item;
      } else if (done) break;
      else await changed();
    }
    if (failure !== undefined) throw failure;
  } finally {
    if (!done) {
      stop.abort();
      notify();
      await run;
    }
  }
}
