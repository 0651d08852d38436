import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { firstAlternative, satisfiesNode } from './node-engines.js';

const run = promisify(execFile);
const conformanceRoot = fileURLToPath(new URL('../..', import.meta.url));
const coreRoot = join(conformanceRoot, '../core');
/** Beside turbo's and vitest's caches: survives between runs on one machine, gone on a fresh clone. */
const cacheRoot = join(conformanceRoot, '../../node_modules/.cache/nectar-vitest-versions');
const INSTALL = ['install', '--no-audit', '--no-fund', '--prefer-offline', '--save-dev'];
/** Installs from the registry take a while on a cold cache; a run needs far less. */
const INSTALL_TIMEOUT_MS = 240_000;
const RUN_TIMEOUT_MS = 120_000;

/** The tarballs a user would install: `npm pack` of core and of the conformance package. */
export interface LocalPacks {
  readonly core: string;
  readonly conformance: string;
}

export interface CaseResult {
  /** The suite file, as vitest reports it (an absolute path). */
  readonly file: string;
  readonly title: string;
  readonly fullName: string;
  readonly status: string;
  readonly failureMessages: string[];
}

interface JsonReport {
  testResults: Array<{ name: string; assertionResults: Array<Omit<CaseResult, 'file'>> }>;
}

export async function packLocal(): Promise<LocalPacks> {
  const into = join(cacheRoot, 'packs');
  await rm(into, { recursive: true, force: true });
  await mkdir(into, { recursive: true });
  return { core: await pack(coreRoot, into), conformance: await pack(conformanceRoot, into) };
}

async function pack(packageRoot: string, into: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', into], { cwd: packageRoot });
  const [packed] = JSON.parse(stdout) as Array<{ filename: string }>;
  if (packed === undefined) throw new Error(`npm pack in ${packageRoot} printed no tarball`);
  return join(into, packed.filename);
}

/**
 * A new user's project: vitest at `spec` from the npm registry, the packed local packages, and
 * suite files copied from test/vitest-project. Installed once per spec and dependency set, kept
 * in node_modules/.cache; later runs only reinstall the two tarballs.
 */
export class VitestProject {
  private constructor(
    readonly dir: string,
    /** The Node that runs vitest: this one, or one from npm when vitest's engines exclude it. */
    readonly node: string,
    readonly vitestVersion: string,
  ) {}

  static async prepare(spec: string, packs: LocalPacks): Promise<VitestProject> {
    const dir = join(cacheRoot, `vitest-${spec.replace(/[^\w.]/g, '')}-${await dependencyKey(spec)}`);
    const marker = join(dir, '.installed');
    if (existsSync(marker)) {
      await npm(dir, [...INSTALL, packs.core, packs.conformance]);
    } else {
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'nectar-vitest-user', private: true, type: 'module' }));
      await npm(dir, [...INSTALL, `vitest@${spec}`, packs.core, packs.conformance]);
      await writeFile(marker, await nodeFor(dir));
    }
    await copySuiteFiles(dir);
    const vitest = JSON.parse(await readFile(join(dir, 'node_modules/vitest/package.json'), 'utf8')) as { version: string };
    return new VitestProject(dir, (await readFile(marker, 'utf8')).trim(), vitest.version);
  }

  /** Runs the project's suites, filtered by a test-name pattern, and returns every case's result. */
  async run(pattern: string): Promise<CaseResult[]> {
    const output = join(this.dir, 'report.json');
    await rm(output, { force: true });
    const args = [join(this.dir, 'node_modules/vitest/vitest.mjs'), 'run', '-t', pattern, '--reporter=json', `--outputFile=${output}`];
    args.push('--testTimeout=30000', '--hookTimeout=30000');
    // The failing suite makes vitest exit 1: the report says more than the exit code.
    const ran = await run(this.node, args, { cwd: this.dir, env: userEnv(), timeout: RUN_TIMEOUT_MS }).catch((error: Error & { stderr?: string }) => error);
    if (!existsSync(output)) throw new Error(`vitest ${this.vitestVersion} wrote no report:\n${'stderr' in ran ? ran.stderr : ''}`);
    const report = JSON.parse(await readFile(output, 'utf8')) as JsonReport;
    return report.testResults.flatMap((file) => file.assertionResults.map((result) => ({ ...result, file: file.name })));
  }
}

/** Changes when the spec, the platform or any dependency of the packed packages changes. */
async function dependencyKey(spec: string): Promise<string> {
  const manifests = await Promise.all([coreRoot, conformanceRoot].map((root) => readFile(join(root, 'package.json'), 'utf8')));
  const fields = manifests.map((text) => {
    const { dependencies, peerDependencies } = JSON.parse(text) as Record<string, unknown>;
    return { dependencies, peerDependencies };
  });
  const key = JSON.stringify({ spec, fields, platform: process.platform, arch: process.arch, node: process.versions.node });
  return createHash('sha256').update(key).digest('hex').slice(0, 12);
}

/**
 * This Node when vitest's engines accept it; else the first Node line they name, from the npm
 * registry's node-<os>-<arch> package (vitest 5 needs Node 22, the project still supports 20).
 */
async function nodeFor(dir: string): Promise<string> {
  const vitest = JSON.parse(await readFile(join(dir, 'node_modules/vitest/package.json'), 'utf8')) as { engines?: { node?: string } };
  const range = vitest.engines?.node;
  if (range === undefined || satisfiesNode(process.versions.node, range)) return process.execPath;
  const name = `node-${process.platform === 'win32' ? 'win' : process.platform}-${process.arch}`;
  console.warn(`vitest needs Node ${range}, this is ${process.version}: installing ${name}@${firstAlternative(range)} from npm to run it`);
  await npm(dir, [...INSTALL, `${name}@${firstAlternative(range)}`]);
  return join(dir, 'node_modules', name, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
}

async function npm(dir: string, args: string[]): Promise<void> {
  try {
    await run('npm', args, { cwd: dir, timeout: INSTALL_TIMEOUT_MS, env: userEnv() });
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${dir}:\n${stderr ?? String(error)}`);
  }
}

/** The user's suite and what it imports, laid out as in this package so the imports hold. */
async function copySuiteFiles(dir: string): Promise<void> {
  const test = join(dir, 'test');
  await rm(test, { recursive: true, force: true });
  for (const file of ['support/reference-downloader.ts', 'broken/downloaders.ts']) await cp(join(conformanceRoot, 'test', file), join(test, file));
  for (const name of ['reference', 'fails']) {
    await cp(join(conformanceRoot, 'test/vitest-project', `${name}.suite.ts`), join(test, 'vitest-project', `${name}.test.ts`));
  }
}

/** The environment without what the outer vitest set: a child vitest would take it for its own. */
function userEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'NODE_ENV' || key === 'TEST' || key === 'NODE_OPTIONS') delete env[key];
  return env;
}
