import { constants } from 'node:os';

/**
 * What stops a run: Ctrl-C (SIGINT), `kill` or a service manager (SIGTERM), a closed terminal
 * or SSH session (SIGHUP). All three cancel the same clean way; a second one quits at once.
 */
export const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type StopSignal = (typeof STOP_SIGNALS)[number];

/** Where stop signals come from: the process, or a test's emitter. */
export interface SignalSource {
  on(event: StopSignal, listener: () => void): unknown;
  off(event: StopSignal, listener: () => void): unknown;
}

/** 128 + the signal's number, the status a shell reports for a process the signal ended: 130, 143, 129. */
export function exitStatusFor(signal: StopSignal): number {
  return 128 + constants.signals[signal];
}

/** Calls `handler` with each stop signal that arrives, until the returned function is called. */
export function onStopSignals(source: SignalSource, handler: (signal: StopSignal) => void): () => void {
  const listeners = STOP_SIGNALS.map((signal) => [signal, () => handler(signal)] as const);
  for (const [signal, listener] of listeners) source.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) source.off(signal, listener);
  };
}
