// What the two hand-written undici clients share — the bare loop (undici-loop-client.mjs) and the
// dispatch floor (undici-dispatch-client.mjs): their command line, the undici that @nectar/undici
// depends on (so they measure the same HTTP client), an Agent that trusts the test CA, the list
// read whole as a user's script would, and `concurrency` workers taking its URLs in turn.
//
//   node src/<client>.mjs --list urls.txt --dest DIR --concurrency 8 [--ca ca.pem]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

/** The run a client was started for: `undici`'s exports, its `dispatcher`, the `urls`, where they go. */
export async function handWrittenRun() {
  const { values } = parseArgs({
    options: { list: { type: 'string' }, dest: { type: 'string' }, concurrency: { type: 'string' }, ca: { type: 'string' } },
  });
  const requireFromNectarUndici = createRequire(fileURLToPath(import.meta.resolve('@nectar/undici')));
  const undici = await import(requireFromNectarUndici.resolve('undici'));
  return {
    undici,
    dispatcher: new undici.Agent(values.ca ? { connect: { ca: readFileSync(values.ca) } } : {}),
    urls: readFileSync(values.list, 'utf8').split('\n').filter(Boolean),
    dest: values.dest,
    concurrency: Number(values.concurrency),
  };
}

/** Runs `fetchInto(url, path)` for every URL, `concurrency` at a time, into a file named after it; then closes the dispatcher. */
export async function fetchAll({ dispatcher, urls, dest, concurrency }, fetchInto) {
  let next = 0;
  async function worker() {
    while (next < urls.length) {
      const url = urls[next++];
      await fetchInto(url, join(dest, basename(new URL(url).pathname)));
    }
  }
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    await dispatcher.close();
  }
}
