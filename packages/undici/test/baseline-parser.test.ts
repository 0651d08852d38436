import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes, type Scratch, scratch } from './helpers.js';

const script = fileURLToPath(new URL('./parser-tier/run.mjs', import.meta.url));
const server: HttpFixture = httpFixture();
let tmp: Scratch;
let url: string;

beforeAll(async () => {
  await server.start();
  tmp = await scratch();
  url = await server.publish('tier.bin', randomBytes(4096));
});

afterAll(async () => {
  await server.stop();
  await tmp.remove();
});

/** The tiers run.mjs reports, from a process of its own (V8 flags are process-wide). */
async function tiers(nodeFlags: string[], name: string, threads = 0): Promise<{ parser: string; other: string }> {
  const { UNDICI_NO_WASM_SIMD: _, ...env } = process.env;
  const args = ['--allow-natives-syntax', ...nodeFlags, script, url, tmp.path(name), String(threads)];
  const { stdout } = await promisify(execFile)(process.execPath, args, { env, timeout: 30_000 });
  return JSON.parse(stdout) as { parser: string; other: string };
}

describe("undici's WebAssembly parser", () => {
  it('runs on V8 baseline code after the backend opened, while another module is still optimised', async () => {
    // Without the precompile the parser is optimised like any hot code; without putting back the
    // flags --liftoff-only turns off, the other module would stay on baseline code too.
    expect(await tiers([], 'default.bin')).toEqual({ parser: 'liftoff', other: 'turbofan' });
  });

  it('runs on baseline code in worker threads too: the main thread compiles it, V8 shares it', async () => {
    expect(await tiers([], 'threads.bin', 1)).toEqual({ parser: 'liftoff', other: 'turbofan' });
  });

  it("leaves an application's own tier flags alone", async () => {
    expect(await tiers(['--liftoff-only'], 'liftoff-only.bin')).toEqual({ parser: 'liftoff', other: 'liftoff' });
    // V8's other spelling of a negated flag: without dynamic tiering V8 optimises every function, undici's parser too.
    expect((await tiers(['--nowasm-dynamic-tiering'], 'no-dynamic.bin')).parser).toBe('turbofan');
  });
});
