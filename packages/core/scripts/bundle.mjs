#!/usr/bin/env node
// Core's JavaScript as users load it: each entry of the exports map bundled by esbuild from src/,
// with the code entries share in chunks of their own (one copy of every class, so an error thrown
// through one entry is an instance of the class another entry exports). Loading some 70 modules
// one by one (resolve, stat, read, compile each) cost ~75 ms of every start-up; the bundle loads
// in ~37 ms (issue #14). tsc still writes the declarations beside them, one per source file.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';

/** The JavaScript of an earlier build (tsc's file-per-module output among it) goes: the bundle replaces all of it. */
function removeJavaScript(folder) {
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) removeJavaScript(path);
    else if (/\.js(\.map)?$/.test(entry.name)) rmSync(path);
  }
}

removeJavaScript('dist');

const { metafile } = await build({
  entryPoints: ['src/index.ts', 'src/backend.ts', 'src/http.ts', 'src/threads.ts', 'src/threads/worker.ts'],
  outbase: 'src',
  outdir: 'dist',
  bundle: true,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  format: 'esm',
  platform: 'node',
  target: 'node20.18',
  // Dependencies (libsql, loaded only for a state store) and backends stay imports.
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  metafile: true,
});

// The worker pool finds dist/threads/worker.js relative to its own file, which must then be dist/threads.js.
if (metafile.outputs['dist/threads.js']?.inputs['src/threads/pool.ts'] === undefined) {
  throw new Error('src/threads/pool.ts is no longer bundled into dist/threads.js: its workerEntry() would point at the wrong file');
}
