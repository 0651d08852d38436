import type { SignalSource } from './signals.js';

/** What the CLI touches of its process: given to main() so that tests can run it in-process. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  /** A terminal's size and colour support, when it is one (process.stderr is a tty.WriteStream then). */
  readonly stderr: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number; readonly rows?: number; hasColors?(env?: NodeJS.ProcessEnv): boolean };
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
  /** Where SIGINT, SIGTERM and SIGHUP come from (the process, or a test's emitter). */
  readonly signals: SignalSource;
  /** Leaves at once, for a second stop signal. */
  exit(code: number): void;
}

export function processIo(): CliIo {
  // A terminal closed (SIGHUP) or a reader gone (`| head`) makes writes fail with EIO or EPIPE;
  // unheard, that error would end the process before a canceled download removes its part file.
  for (const stream of [process.stdout, process.stderr]) {
    if (!stream.listeners('error').includes(ignoreOutputError)) stream.on('error', ignoreOutputError);
  }
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    cwd: process.cwd(),
    signals: process,
    exit: (code) => process.exit(code),
  };
}

/** What is printed is lost; the run itself goes on. */
function ignoreOutputError(): void {}
