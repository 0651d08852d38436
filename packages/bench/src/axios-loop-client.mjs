// axios' floor: the loop an application writes without Nectar — one file after another, each
// response streamed to its file. The axios target asks Nectar to beat this by 1.5× on small files.
// It uses the axios that @nectar/axios depends on, so both measure the same library.
//
//   node src/axios-loop-client.mjs --list urls.txt --dest DIR [--ca ca.pem]
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { list: { type: 'string' }, dest: { type: 'string' }, ca: { type: 'string' } },
});

const requireFromNectarAxios = createRequire(fileURLToPath(import.meta.resolve('@nectar/axios')));
const { default: axios } = await import(requireFromNectarAxios.resolve('axios'));

// Keep-alive on both, as @nectar/axios has: the floor should not pay for a handshake per file.
const client = axios.create({
  httpAgent: new HttpAgent({ keepAlive: true }),
  httpsAgent: new HttpsAgent({ keepAlive: true, ca: values.ca ? readFileSync(values.ca) : undefined }),
  responseType: 'stream',
  decompress: false,
});

const lines = createInterface({ input: createReadStream(values.list), crlfDelay: Number.POSITIVE_INFINITY });
for await (const url of lines) {
  if (url === '') continue;
  const response = await client.get(url);
  await pipeline(response.data, createWriteStream(join(values.dest, basename(new URL(url).pathname))));
}
client.defaults.httpAgent.destroy();
client.defaults.httpsAgent.destroy();
