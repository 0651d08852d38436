/** What the CLI touches of its process: given to main() so that tests can run it in-process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
  /** Where SIGINT comes from (the process, or a test's emitter). */
  readonly signals: SignalSource;
  /** Leaves at once, for a second Ctrl-C. */
  exit(code: number): void;
}

export interface SignalSource {
  on(event: 'SIGINT', listener: () => void): unknown;
  off(event: 'SIGINT', listener: () => void): unknown;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    signals: process,
    exit: (code) => process.exit(code),
  };
}
