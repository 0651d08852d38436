#!/usr/bin/env node
// The `nectar` command as users run it: dist/bin.js and what it imports, bundled by esbuild into
// dist/bundle/ (lazily loaded parts in chunks of their own). Worker threads (config.threads) run
// @nectar/core's own worker file, which imports the installed @nectar/undici: both stay on disk.
// Resolving and reading some 300 files is most of a plain `nectar get`'s start-up (issue #14).
//
// Left outside, resolved at run time from this package's own installation: @nectar/core (one
// copy for every backend: an optional @nectar/sftp or @nectar/axios brings its own import of
// it, and a second copy would not know the first one's errors) and the optional peers.
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

const external = ['@nectar/core', '@nectar/axios', '@nectar/sftp', '@nectar/queue'];
const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** dist/version.js reads ../package.json at run time, which from dist/bundle/ is not this package's. */
const inlineVersion = {
  name: 'inline-version',
  setup(b) {
    b.onLoad({ filter: /[\\/]cli[\\/]dist[\\/]version\.js$/ }, () => ({ contents: `export const version = ${JSON.stringify(version)};`, loader: 'js' }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20.18',
  external,
  plugins: [inlineVersion],
  // undici is CommonJS: its require() calls of Node's own modules need a require in ESM output.
  banner: { js: "import { createRequire as __nectarRequire } from 'node:module'; const require = __nectarRequire(import.meta.url);" },
  logLevel: 'warning',
  legalComments: 'eof',
};

await build({ ...common, entryPoints: { bin: 'dist/bin.js' }, outdir: 'dist/bundle', splitting: true, chunkNames: 'chunk-[hash]' });
