#!/usr/bin/env node
import { mkdtemp, readdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DemoServer, sampleFiles } from './demo-server.js';
import { formatBytes } from './format.js';
import { main } from './main.js';

/**
 * `npm run demo`: serves a few sample files from a local server on 127.0.0.1 (offline, no
 * network needed), downloads them with `nectar get` into a new temporary folder — or the folder
 * given as the first argument — and says where they went.
 */
async function demo(): Promise<number> {
  const server = new DemoServer();
  const origin = await server.start();
  const dir = process.argv[2] === undefined ? await mkdtemp(join(tmpdir(), 'nectar-demo-')) : resolve(process.argv[2]);
  const urls = sampleFiles.map((f) => `${origin}/${f.name}`);
  const argv = ['get', ...urls, '-d', dir];
  process.stderr.write(`Serving ${sampleFiles.length} sample files on ${origin}; running:\n  nectar ${argv.join(' ')}\n\n`);
  try {
    const status = await main(argv);
    await listFolder(dir);
    return status;
  } finally {
    await server.stop();
  }
}

async function listFolder(dir: string): Promise<void> {
  const names = (await readdir(dir)).sort();
  process.stderr.write(`\nThe files are in ${dir}:\n`);
  for (const name of names) process.stderr.write(`  ${name.padEnd(14)} ${formatBytes((await stat(join(dir, name))).size)}\n`);
  process.stderr.write('\nWith a real URL: npx nectar get https://nodejs.org/dist/index.json -d downloads\n');
}

process.exitCode = await demo();
