#!/usr/bin/env node
// A committed shim, so that npm links the command at install time, before dist/ is built. It runs
// the bundle (scripts/bundle.mjs): a few files to read instead of hundreds, for a quicker start.
import "../dist/bundle/bin.js";
