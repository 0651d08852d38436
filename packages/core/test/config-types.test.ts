import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const run = promisify(execFile);
const config = fileURLToPath(new URL('../src/config.js', import.meta.url));
const tsc = join(dirname(createRequire(import.meta.url).resolve('typescript/package.json')), 'bin/tsc');
const typeRoots = fileURLToPath(new URL('../../../node_modules/@types', import.meta.url));

/** What a user writes: one typo, and the two ways to pass fields core does not know. */
const userCode = `
import { DownloaderConfig, type DownloaderConfigOptions } from ${JSON.stringify(config)};
interface BackendOptions extends DownloaderConfigOptions { threads?: number }
export const typo = new DownloaderConfig({ maxConcurent: 4 });
export const extended = new DownloaderConfig<BackendOptions>({ threads: 2, maxConcurrent: 4 });
export const escaped = new DownloaderConfig({ retries: 1, extra: { threads: 2 } });
`;

// vitest strips types without checking them: the @ts-expect-error in config.test.ts holds only
// under `npm run lint`. This runs tsc itself, so that `npm test` fails too if a typo compiles.
it('tsc rejects exactly the misspelt field, suggesting the real one', async () => {
  const folder = await mkdtemp(join(tmpdir(), 'nectar-config-types-'));
  try {
    await writeFile(join(folder, 'user.ts'), userCode);
    const options = ['--noEmit', '--strict', '--module', 'NodeNext', '--moduleResolution', 'NodeNext', '--target', 'ES2022', '--skipLibCheck'];
    const args = [...options, '--types', 'node', '--typeRoots', typeRoots, join(folder, 'user.ts')];
    const result = await run(process.execPath, [tsc, ...args]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    const errors = result.split('\n').filter((line) => line.includes('error TS'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/user\.ts\(4,\d+\): error TS2561: .*'maxConcurent' does not exist .* Did you mean to write 'maxConcurrent'\?/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}, 60_000);
