#!/usr/bin/env node
import { workerCli } from './worker-cli.js';

workerCli(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`nectar-worker: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
