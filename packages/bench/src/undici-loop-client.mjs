// The bare loop a user hand-writes instead of Nectar: `concurrency` workers share the list, each
// request()s a URL and pipes the body into a file named after it. No part file, no retry, no
// progress: the floor the library's small-file target must halve. It uses the undici that
// @nectar/undici depends on, so both measure the same HTTP client.
//
//   node src/undici-loop-client.mjs --list urls.txt --dest DIR --concurrency 8 [--ca ca.pem]
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fetchAll, handWrittenRun } from './hand-written-client.mjs';

const run = await handWrittenRun();

await fetchAll(run, async (url, path) => {
  const { statusCode, body } = await run.undici.request(url, { dispatcher: run.dispatcher });
  if (statusCode !== 200) {
    await body.dump();
    throw new Error(`${statusCode} from ${url}`);
  }
  await pipeline(body, createWriteStream(path));
});
