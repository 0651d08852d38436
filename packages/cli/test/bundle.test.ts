import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { version } from '@nectar/core';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './cli-process.js';

// The bundler story for library users (root README, "Bundling"): an application using
// defaultRegistry, bundled by esbuild into one file, runs where no node_modules can be reached.

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** The application a user writes: the root README's API example, with the backends registered. */
const app = `
import { DownloaderConfig, DownloadRequest, defaultRegistry } from '@nectar/core';
import { register as registerFile } from '@nectar/file';
import { register as registerUndici } from '@nectar/undici';

registerUndici(defaultRegistry);
registerFile(defaultRegistry);

const jobs = JSON.parse(process.argv[2]);
const downloader = defaultRegistry.create(new DownloaderConfig({ maxConcurrent: 4 }));
const reports = await downloader.download(jobs.map(([url, destination]) => new DownloadRequest(url, destination)));
await downloader.close();
console.log(JSON.stringify(reports.map((r) => ({ url: r.url, state: r.state, errorReport: r.errorReport }))));
`;

/**
 * The README's esbuild line: undici is CommonJS and requires Node's modules, which ESM output can
 * only do through a require of its own (esbuild issue #1921).
 */
const requireShim = "import { createRequire as topLevelCreateRequire } from 'node:module'; const require = topLevelCreateRequire(import.meta.url);";

interface AppReport {
  url: string;
  state: string;
  errorReport: Record<string, unknown>;
}

function runNode(file: string, args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Nothing from the test's environment may lead node to the workspace's packages.
  const env = { PATH: process.env.PATH ?? '', HOME: cwd };
  return new Promise((resolve) => {
    execFile(process.execPath, [file, ...args], { cwd, env }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr });
    });
  });
}

/** Every folder from `path` up to the root: none may hold a node_modules for the test to mean anything. */
function ancestors(path: string): string[] {
  const found = [path];
  for (let up = dirname(path); up !== found.at(-1); up = dirname(up)) found.push(up);
  return found;
}

describe('an application bundled with esbuild into one file', () => {
  let http: HttpFixture;
  let root: { path: string; remove: () => Promise<void> };

  beforeAll(async () => {
    http = httpFixture();
    await http.start();
    root = await tempDir();
  });
  afterAll(async () => {
    await http.stop();
    await root.remove();
  });

  it('downloads over http and file:// from a folder with no node_modules, byte for byte', async () => {
    const outdir = join(root.path, 'build');
    await build({
      stdin: { contents: app, resolveDir: packageDir, sourcefile: 'app.mjs', loader: 'js' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.18',
      outfile: join(outdir, 'app.mjs'),
      banner: { js: requireShim },
      logLevel: 'silent',
    });
    expect(await readdir(outdir)).toEqual(['app.mjs']);

    const place = join(root.path, 'elsewhere');
    await mkdir(place);
    await copyFile(join(outdir, 'app.mjs'), join(place, 'app.mjs'));
    expect(ancestors(place).filter((folder) => existsSync(join(folder, 'node_modules')))).toEqual([]);

    const overHttp = randomBytes(300_000);
    const local = randomBytes(70_000);
    const localPath = join(root.path, 'local.bin');
    await writeFile(localPath, local);
    const jobs = [
      [await http.publish('bundled.bin', overHttp), join(place, 'from-http.bin')],
      [pathToFileURL(localPath).href, join(place, 'from-file.bin')],
    ];

    const result = await runNode('app.mjs', [JSON.stringify(jobs)], place);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const reports = JSON.parse(result.stdout) as AppReport[];
    expect(reports.map((r) => [r.state, r.errorReport])).toEqual([
      ['succeeded', {}],
      ['succeeded', {}],
    ]);
    expect((await readFile(join(place, 'from-http.bin'))).equals(overHttp)).toBe(true);
    expect((await readFile(join(place, 'from-file.bin'))).equals(local)).toBe(true);
    // The version is in the bundle (core no longer reads its package.json at run time).
    expect(http.received.map((r) => r.headers['user-agent'])).toEqual([`nectar/${version}`]);
  });
});
