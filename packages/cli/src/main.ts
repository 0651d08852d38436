import { NectarArgumentError } from '@nectar/core';
import { UsageError, parseCommand, usage } from './args.js';
import { type CliIo, processIo } from './io.js';
import { redactText } from './redact.js';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, runGet } from './run.js';
import { version } from './version.js';

/** The whole `nectar` command; resolves with the exit status instead of exiting. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
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

function print(stream: NodeJS.WritableStream, text: string): number {
  stream.write(text);
  return EXIT_OK;
}
