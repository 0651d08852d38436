import { execFile } from 'node:child_process';
import { cp, mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, tempDir } from './cli-process.js';

// A global install: @nectar/cli with core, undici and file beside it, and no @nectar/sftp. It is
// run from a folder whose node_modules holds fake @nectar packages that leave a marker if imported.

const workspace = fileURLToPath(new URL('../../../', import.meta.url));
let http: HttpFixture;
let root: { path: string; remove: () => Promise<void> };
let bin: string;
let project: string;

/** A copy of a workspace package as npm installs it: package.json and dist. */
async function install(modules: string, name: string): Promise<void> {
  const from = join(workspace, 'packages', name);
  const to = join(modules, '@nectar', name);
  await mkdir(to, { recursive: true });
  for (const part of ['package.json', 'dist', 'bin']) await cp(join(from, part), join(to, part), { recursive: true }).catch(() => {});
}

/** A package that proves it was imported by writing a marker into the project folder. */
async function fake(name: string): Promise<void> {
  const dir = join(project, 'node_modules', '@nectar', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `@nectar/${name}`, type: 'module', main: 'index.js' }));
  const marker = JSON.stringify(join(project, `imported-${name}`));
  await writeFile(join(dir, 'index.js'), `import { writeFileSync } from 'node:fs';\nwriteFileSync(${marker}, 'x');\nexport function register() {}\n`);
}

/** Runs the installed copy's command (its bin shim and bundle), not the workspace build that cli-process.ts runs. */
function runCliAt(path: string, args: readonly string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path, ...args], { cwd, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  http = httpFixture();
  await http.start();
  root = await tempDir();
  const modules = join(root.path, 'global', 'node_modules');
  for (const name of ['cli', 'core', 'undici', 'file']) await install(modules, name);
  for (const dependency of ['undici', 'cli-progress']) await symlink(join(workspace, 'node_modules', dependency), join(modules, dependency));
  bin = join(modules, '@nectar', 'cli', 'bin', 'nectar.js');
  project = join(root.path, 'project');
  for (const name of ['undici', 'sftp', 'core']) await fake(name);
}, 60_000);
afterAll(async () => {
  await http.stop();
  await root.remove();
});

describe('a globally installed nectar', () => {
  it('loads backends from its own installation, never from the current folder', async () => {
    const url = await http.publish('global.bin', Buffer.from('global\n'));
    const result = await runCliAt(bin, [url, 'sftp://127.0.0.1:1/x.bin', '--retry', '0', '-d', 'out'], project);
    expect(await readdir(join(project, 'out'))).toEqual(['global.bin']);
    // No @nectar/sftp beside nectar: the sftp: URL fails with the install hint.
    expect(result.stderr).toMatch(/no downloader serves sftp: URLs; install @nectar\/sftp/);
    expect(result.code).toBe(1);
    expect((await readdir(project)).filter((name) => name.startsWith('imported-'))).toEqual([]);
  });
});
