import { expect } from 'vitest';

/**
 * Watches the process for what a download must never cause: an uncaught exception (an 'error'
 * event nobody listened to) or an unhandled rejection. `check()` fails the case with what was seen.
 */
export function watchProcessFaults(): { check(): Promise<void>; stop(): void } {
  const seen: string[] = [];
  const onException = (error: unknown) => seen.push(`uncaught exception: ${String((error as Error)?.message ?? error)}`);
  const onRejection = (reason: unknown) => seen.push(`unhandled rejection: ${String((reason as Error)?.message ?? reason)}`);
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return {
    async check() {
      // An unhandled rejection is reported after the microtasks of its turn have run.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(seen).toEqual([]);
    },
    stop() {
      process.off('uncaughtException', onException);
      process.off('unhandledRejection', onRejection);
    },
  };
}
