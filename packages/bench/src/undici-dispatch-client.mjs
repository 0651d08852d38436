// The leanest loop undici allows, as a floor and not a rival: `concurrency` workers share the
// list, each dispatch()es a GET with a raw handler, keeps the body's chunks and writes them with
// one synchronous open/write/close to the file named after the URL. No stream, no AbortController,
// no part file, no lock, no check of what landed, no retry, no event: none of the guarantees the
// library keeps. What is left is undici's own cost per request, Node's and the kernel's — what
// the small-file target ("the library ≤ 0.5× the bare loop's time") asks the library to reach.
//
//   node src/undici-dispatch-client.mjs --list urls.txt --dest DIR --concurrency 8 [--ca ca.pem]
import { closeSync, openSync, writeSync } from 'node:fs';
import { fetchAll, handWrittenRun } from './hand-written-client.mjs';

const run = await handWrittenRun();

/** One GET; the body is written once whole. */
function fetchInto(url, path) {
  const { origin, pathname } = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks = [];
    let status = 0;
    run.dispatcher.dispatch(
      { origin, path: pathname, method: 'GET', headers: {} },
      {
        onRequestStart() {},
        onResponseStart(_controller, statusCode) {
          status = statusCode;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          if (status !== 200) return reject(new Error(`${status} from ${url}`));
          const fd = openSync(path, 'w');
          try {
            for (const chunk of chunks) writeSync(fd, chunk);
          } finally {
            closeSync(fd);
          }
          resolve();
        },
        onResponseError(_controller, error) {
          reject(error);
        },
      },
    );
  });
}

await fetchAll(run, fetchInto);
