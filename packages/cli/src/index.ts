export { type Command, type GetOptions, UsageError, parseCommand, usage } from './args.js';
export { type CliConfigOptions, type SshConfigFields, configFromOptions, parseSize } from './config.js';
export { type CliIo, processIo } from './io.js';
export { main } from './main.js';
export { NameAllocator, isInside, nameFromUrl, sanitiseName } from './names.js';
export { redactText } from './redact.js';
export { EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE } from './run.js';
export { EXIT, type ExitStatus } from './exit-codes.js';
