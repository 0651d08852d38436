// Which V8 tier runs undici's HTTP parser once a downloader has opened its backend and fetched a
// file, and which runs another WebAssembly module:
// `node --allow-natives-syntax [flags] run.mjs <url> <dest> [threads]`.
// Prints {"parser": tier, "other": tier}. A module compiled from the parser's bytes is V8's cached
// one, the very code undici's own compile got; the other is llhttp without SIMD. With `threads`,
// the downloader runs its transfers in worker threads, and the tiers are read in a new worker.
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread } from 'node:worker_threads';
import { DownloadRequest } from '@nectar/core';
import { UndiciDownloader } from '@nectar/undici';

if (!isMainThread) await printTiers();
else {
  const [url, destination, threads = '0'] = process.argv.slice(2);
  const downloader = new UndiciDownloader({ threads: Number(threads) });
  const [report] = await downloader.download([new DownloadRequest(url, destination)]);
  await downloader.close();
  if (report.state !== 'succeeded') throw new Error(`the download ${report.state}`);
  // --allow-natives-syntax is process-wide: a worker may use it too.
  if (threads === '0') await printTiers();
  else new Worker(fileURLToPath(import.meta.url)).on('error', (error) => process.emitWarning(error));
}

async function printTiers() {
  const fromUndici = createRequire(createRequire(import.meta.url).resolve('@nectar/undici'));
  const parser = hot(fromUndici('undici/lib/llhttp/llhttp_simd-wasm.js'));
  const other = hot(fromUndici('undici/lib/llhttp/llhttp-wasm.js'));
  const isTurbofan = new Function('f', 'return %IsTurboFanFunction(f)');
  // Both run hot until the other one is optimised (V8 does it on a background thread), or 3 s.
  for (const started = Date.now(); !isTurbofan(other) && Date.now() - started < 3000; ) {
    for (let i = 0; i < 100_000; i++) parser(0) + other(0);
    await sleep(20);
  }
  const tier = (f) => (isTurbofan(f) ? 'turbofan' : 'liftoff');
  process.stdout.write(JSON.stringify({ parser: tier(parser), other: tier(other) }));
}

/** One small exported function of an instance of `bytes`, every import a no-op. */
function hot(bytes) {
  const module = new WebAssembly.Module(bytes);
  const env = Object.fromEntries(WebAssembly.Module.imports(module).map(({ name }) => [name, () => 0]));
  return new WebAssembly.Instance(module, { env }).exports.llhttp_get_type;
}
