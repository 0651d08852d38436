import { NectarArgumentError, Redactor } from '@nectar/core/backend';
import { UsageError, commandLineSecrets, parseCommand, usage } from './args.js';
import { SSH_PASSPHRASE_ENV } from './config.js';
import { type CliIo, processIo } from './io.js';
import { type LineWriter, lineWriter } from './redact.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runGet } from './run.js';
import { version } from './version.js';

/** The whole `nectar` command; resolves with the exit status instead of exiting. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  // Known before anything is parsed: a message saying the command line is wrong masks them too.
  const redactor = new Redactor([...commandLineSecrets(argv), process.env[SSH_PASSPHRASE_ENV]]);
  const printError = lineWriter(io.stderr, redactor);
  if (argv[0] === 'worker') return worker(argv.slice(1), printError);
  if (argv[0] === 'queue') return operate(argv.slice(1), printError);
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') return print(io.stdout, usage);
    if (command.kind === 'version') return print(io.stdout, `nectar ${version}\n`);
    return await runGet(command.urls, command.options, io, redactor);
  } catch (error) {
    if (error instanceof UsageError || error instanceof NectarArgumentError) {
      printError(`nectar: ${error.message}`);
      // The usage is a constant: nothing of the user's in it to mask.
      io.stderr.write(`\n${usage}`);
      return EXIT_USAGE;
    }
    printError(`nectar: ${unexpected(error)}`);
    return EXIT_FAILED;
  }
}

/**
 * A failure nobody planned for: its message and code, not a stack trace for the user to read
 * (NECTAR_DEBUG=1 adds the stack, for a bug report).
 */
function unexpected(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (process.env.NECTAR_DEBUG === '1' && error.stack !== undefined) return error.stack;
  const code = (error as NodeJS.ErrnoException).code;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}

interface QueueModule {
  workerCli(argv: readonly string[]): Promise<unknown>;
  queueCli(argv: readonly string[]): Promise<{ status: number }>;
}

/** @nectar/queue, loaded only when asked for: the queue and its Redis client are optional for everyone else. */
async function loadQueue(command: string, printError: LineWriter): Promise<QueueModule | null> {
  try {
    return (await import('@nectar/queue')) as QueueModule;
  } catch {
    printError(`nectar: \`nectar ${command}\` needs @nectar/queue: npm install @nectar/queue`);
    return null;
  }
}

/** `nectar queue …`: an operator's commands for a farm (status, pause, limits, dashboard); they print their own errors. */
async function operate(argv: readonly string[], printError: LineWriter): Promise<number> {
  const queue = await loadQueue('queue', printError);
  if (queue === null) return EXIT_USAGE;
  return (await queue.queueCli(argv)).status;
}

/** `nectar worker …` is @nectar/queue's worker (the same as its `nectar-worker` command). */
async function worker(argv: readonly string[], printError: LineWriter): Promise<number> {
  const queue = await loadQueue('worker', printError);
  if (queue === null) return EXIT_USAGE;
  try {
    // The worker keeps the process alive until SIGINT/SIGTERM, which it handles itself.
    await queue.workerCli(argv);
    return EXIT_OK;
  } catch (error) {
    printError(`nectar worker: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_USAGE;
  }
}

function print(stream: NodeJS.WritableStream, text: string): number {
  stream.write(text);
  return EXIT_OK;
}
