import { setFlagsFromString } from 'node:v8';

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
const TIER_FLAGS = /^--(?:no-)?(?:liftoff|liftoff[-_]only|wasm[-_]tier[-_]up|wasm[-_]dynamic[-_]tiering|wasm[-_]lazy[-_]compilation)(?:=|$)/;

export async function compileParserBaseline(): Promise<void> {
  if (parser !== undefined || chosenByApplication()) return;
  parser = null;
  try {
    // undici's lazyllhttp() (dispatcher/client-h1.js) tries SIMD first and falls back to the plain parser.
    if (simdAllowed()) parser = baseline((await import('undici/lib/llhttp/llhttp_simd-wasm.js')).default);
    parser ??= baseline((await import('undici/lib/llhttp/llhttp-wasm.js')).default);
  } catch {
    // A later undici that moved its parser: undici compiles its own as it always did.
  }
}

// NODE_OPTIONS cannot carry these V8 flags: the command line is where an application sets them.
function chosenByApplication(): boolean {
  return process.execArgv.some((flag) => TIER_FLAGS.test(flag));
}

/** undici's rule: SIMD unless UNDICI_NO_WASM_SIMD=1, or on ppc64 before Node 24.12 (unless it is 0). */
function simdAllowed(): boolean {
  const override = process.env.UNDICI_NO_WASM_SIMD;
  if (override === '1') return false;
  if (override === '0' || process.arch !== 'ppc64') return true;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 24 || (major === 24 && minor >= 12);
}

/** Compiled by Liftoff only; null where it does not compile (no SIMD here). */
function baseline(bytes: Buffer): object | null {
  setFlagsFromString('--liftoff-only --no-wasm-lazy-compilation');
  try {
    return new wasm.Module(bytes);
  } catch {
    return null;
  } finally {
    setFlagsFromString('--no-liftoff-only --wasm-tier-up --wasm-dynamic-tiering --wasm-lazy-compilation');
  }
}
