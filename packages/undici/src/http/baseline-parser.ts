import { setFlagsFromString } from 'node:v8';
import { isMainThread } from 'node:worker_threads';

/**
 * undici parses HTTP/1.1 with llhttp compiled to WebAssembly. V8 compiles each function with its
 * baseline compiler (Liftoff) on first call, then re-compiles the hot ones with TurboFan on
 * background threads: for code that parses a few headers per response that costs 20–35 MiB of
 * peak memory (2,000 × 16 KiB: peak RSS 87–90 MiB against 107–113; one file: 59 against 95) and
 * a second core's time, for no speed-up the bench can measure.
 *
 * V8 has no per-module setting. So the very bytes undici will compile are compiled here first,
 * once per process, eagerly and by Liftoff only (`--liftoff-only --no-wasm-lazy-compilation`,
 * raised for that one synchronous call): code compiled so carries no tier-up check, and V8 hands
 * the compiled module to undici's own compile of the same bytes at its first connection. The
 * module is held for the life of the process so that V8's cache keeps it. Other WebAssembly in
 * the process is compiled and optimised as before: `--liftoff-only` turns two flags off as it is
 * set and does not turn them back on when cleared, so all four are put back to V8's defaults.
 */
let parser: object | null | undefined;

/** Node has WebAssembly; the TypeScript lib this package builds with (ES2022, no DOM) does not declare it. */
const wasm = (globalThis as unknown as { WebAssembly: { Module: new (bytes: Uint8Array) => object } }).WebAssembly;

/** The flags set and put back below: an application that names one on its command line keeps its choice. */
const TIER_FLAGS = /^--(?:no[-_]?)?(?:liftoff|liftoff[-_]only|wasm[-_]tier[-_]up|wasm[-_]dynamic[-_]tiering|wasm[-_]lazy[-_]compilation)(?:=|$)/;

const BASELINE = ['--liftoff-only', '--no-wasm-lazy-compilation'];
/** V8's defaults, every flag that --liftoff-only turned off with it included. */
const DEFAULTS = ['--no-liftoff-only', '--wasm-tier-up', '--wasm-dynamic-tiering', '--wasm-lazy-compilation'];

export async function compileParserBaseline(): Promise<void> {
  if (parser !== undefined) return;
  parser = null;
  if (!applies()) return;
  try {
    // undici's lazyllhttp() (dispatcher/client-h1.js) tries SIMD first and falls back to the plain parser.
    if (process.env.UNDICI_NO_WASM_SIMD !== '1') parser = baseline((await import('undici/lib/llhttp/llhttp_simd-wasm.js')).default);
    parser ??= baseline((await import('undici/lib/llhttp/llhttp-wasm.js')).default);
  } catch {
    // A later undici that moved its parser: undici compiles its own as it always did.
  }
}

/**
 * Only where it is known to be safe. With --liftoff-only, anything Liftoff cannot compile aborts
 * the process rather than failing: Liftoff compiles every instruction on x64 and arm64 (undici's
 * ppc64 rule for SIMD does not arise there). The flags exist in V8 11 to 13 (Node 20 to 24); a
 * later V8 is left alone until checked. Once per process, from the main thread: flags are
 * process-wide, and a worker's compile of the same bytes gets this module from V8's cache too.
 * NODE_OPTIONS cannot carry these V8 flags: the command line is where an application sets them.
 */
function applies(): boolean {
  const v8Major = Number(process.versions.v8.split('.')[0]);
  const known = (process.arch === 'x64' || process.arch === 'arm64') && v8Major >= 11 && v8Major <= 13;
  return known && isMainThread && !process.execArgv.some((flag) => TIER_FLAGS.test(flag));
}

/** Compiled by Liftoff only; null where it does not compile (no SIMD here). */
function baseline(bytes: Buffer): object | null {
  setFlags(BASELINE);
  try {
    return new wasm.Module(bytes);
  } catch {
    return null;
  } finally {
    setFlags(DEFAULTS);
  }
}

/** One flag per call: V8 skips the rest of a string after a flag it does not know. */
function setFlags(flags: readonly string[]): void {
  for (const flag of flags) setFlagsFromString(flag);
}
