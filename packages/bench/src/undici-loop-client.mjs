// The bare loop a user hand-writes instead of Nectar: `concurrency` workers share the list, each
// request()s a URL and pipes the body into a file named after it. No part file, no retry, no
// progress: the floor the library's small-file target must halve. It uses the undici that
// @nectar/undici depends on, so both measure the same HTTP client.
//
//   node src/undici-loop-client.mjs --list urls.txt --dest DIR --concurrency 8 [--ca ca.pem]
import { createWriteStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { list: { type: 'string' }, dest: { type: 'string' }, concurrency: { type: 'string' }, ca: { type: 'string' } },
});

const requireFromNectarUndici = createRequire(fileURLToPath(import.meta.resolve('@nectar/undici')));
const { Agent, request } = await import(requireFromNectarUndici.resolve('undici'));

const dispatcher = new Agent(values.ca ? { connect: { ca: readFileSync(values.ca) } } : {});
// A list of a few thousand lines is read whole, as a user's script would.
const urls = readFileSync(values.list, 'utf8').split('\n').filter(Boolean);
let next = 0;

async function worker() {
  while (next < urls.length) {
    const url = urls[next++];
    const { statusCode, body } = await request(url, { dispatcher });
    if (statusCode !== 200) {
      await body.dump();
      throw new Error(`${statusCode} from ${url}`);
    }
    await pipeline(body, createWriteStream(join(values.dest, basename(new URL(url).pathname))));
  }
}

try {
  await Promise.all(Array.from({ length: Number(values.concurrency) }, worker));
} finally {
  await dispatcher.close();
}
