#!/usr/bin/env node
import { main } from './main.js';

// exitCode rather than exit(): stdout and stderr drain before the process ends.
process.exitCode = await main(process.argv.slice(2));
