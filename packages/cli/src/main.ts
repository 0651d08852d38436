import { NectarArgumentError } from '@nectar/core';
import { UsageError, parseCommand, usage } from './args.js';
import { type CliIo, processIo } from './io.js';
import { redactText } from './redact.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runGet } from './run.js';
import { version } from './version.js';

/** The whole `nectar` command; resolves with the exit status instead of exiting. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  if (argv[0] === 'worker') return worker(argv.slice(1), io);
  try {
    const command = parseCommand(argv);
    if (command.kind === 'help') return print(io.stdout, usage);
    if (command.kind === 'version') return print(io.stdout, `nectar ${version}\n`);
    return await runGet(command.urls, command.options, io);
  } catch (error) {
    if (error instanceof UsageError || error instanceof NectarArgumentError) {
      io.stderr.write(`${redactText(`nectar: ${error.message}`)}\n\n${usage}`);
      return EXIT_USAGE;
    }
    io.stderr.write(redactText(`nectar: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`));
    return EXIT_FAILED;
  }
}

/**
 * `nectar worker …` is @nectar/queue's worker (the same as its `nectar-worker` command), loaded
 * only when asked for: the queue and its Redis client are optional for everyone else.
 */
async function worker(argv: readonly string[], io: CliIo): Promise<number> {
  let queue: { workerCli(argv: readonly string[]): Promise<unknown> };
  try {
    queue = (await import('@nectar/queue')) as typeof queue;
  } catch {
    io.stderr.write('nectar: `nectar worker` needs @nectar/queue: npm install @nectar/queue\n');
    return EXIT_USAGE;
  }
  try {
    // The worker keeps the process alive until SIGINT/SIGTERM, which it handles itself.
    await queue.workerCli(argv);
    return EXIT_OK;
  } catch (error) {
    io.stderr.write(redactText(`nectar worker: ${error instanceof Error ? error.message : String(error)}\n`));
    return EXIT_USAGE;
  }
}

function print(stream: NodeJS.WritableStream, text: string): number {
  stream.write(text);
  return EXIT_OK;
}
