import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The examples/ folder at the repository root runs here, so that `npm test` (and CI) proves
// every example still works against the packages as they are now.
const root = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

/** The environment without this vitest's own variables, which would confuse a nested vitest. */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'NODE_OPTIONS'));
}

async function example(file: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join('examples', file)], { cwd: root, env: cleanEnv(), timeout: 60_000 });
  return stdout;
}

describe('examples', () => {
  it('download-list.mjs downloads a list, printing progress from its listener', async () => {
    const out = await example('download-list.mjs');
    expect(out).toMatch(/^started {3}#0 http:\/\/127\.0\.0\.1:\d+\/256k$/m);
    expect(out).toMatch(/^progress {2}#1 \d+ \/ 1048576 bytes$/m);
    expect(out).toMatch(/^failed {4}#3 NECTAR_HTTP_STATUS: 404/m);
    expect(out).toMatch(/^done: 3 succeeded, 1 failed$/m);
  });

  it('custom-scheme.mjs serves a made-up scheme through a registry', async () => {
    const out = await example('custom-scheme.mjs');
    expect(out).toMatch(/^succeeded mem:\/\/notes\/hello\.txt \(18 bytes\)$/m);
    expect(out).toMatch(/^failed {4}mem:\/\/notes\/absent\.txt/m);
    expect(out).toMatch(/NECTAR_UNSUPPORTED_SCHEME no downloader serves gopher: URLs/);
    expect(out).toContain('hello.txt says: hello from mem://');
  });

  it('cancel.mjs cancels from a timer and with an AbortSignal, leaving no files', async () => {
    const out = await example('cancel.mjs');
    expect(out).toMatch(/^cancel\(\): {4}canceled, canceled$/m);
    expect(out).toMatch(/^AbortSignal: canceled$/m);
    expect(out).toMatch(/^files left in .*: 0$/m);
  });

  it('third-party-suite passes the conformance suite with vitest', { timeout: 180_000 }, async () => {
    const vitest = join(dirname(createRequire(import.meta.url).resolve('vitest/package.json')), 'vitest.mjs');
    const { stdout } = await run(process.execPath, [vitest, 'run', '--root', 'examples/third-party-suite', '--reporter', 'dot'], {
      cwd: root,
      env: { ...cleanEnv(), NO_COLOR: '1', CI: '1' },
      timeout: 170_000,
    });
    expect(stdout).toMatch(/Tests +\d+ passed \| \d+ skipped/);
  });
});
