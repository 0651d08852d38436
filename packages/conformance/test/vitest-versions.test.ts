import { readFileSync } from 'node:fs';
import { beforeAll, describe, type ExpectStatic, it } from 'vitest';
import { FAILS_EVERY_REQUEST } from './broken/downloaders.js';
import { type CaseResult, type LocalPacks, packLocal, VitestProject } from './support/vitest-project.js';

/**
 * The suite registers its cases with whatever vitest the user has, so it is run the way a new
 * user runs it — npm-installed vitest, packed packages, a fresh project — with the oldest and
 * the newest vitest the peer range allows. Installs are cached in node_modules/.cache; a cold
 * cache (a fresh clone, CI) costs about a minute of npm.
 */
const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { peerDependencies: Record<string, string> };
const peerRange = manifest.peerDependencies.vitest ?? '';

/** `^3.2.0 || ^4.0.0 || ^5.0.0` → the lowest minor allowed (~3.2.0) and the newest major (^5.0.0). */
function edgesOf(range: string): string[] {
  const alternatives = range.split('||').map((part) => part.trim());
  const oldest = alternatives[0]?.replace(/^\^/, '~');
  const newest = alternatives.at(-1);
  if (oldest === undefined || newest === undefined || !/^[~^]\d+\.\d+\.\d+$/.test(oldest)) throw new Error(`cannot read the vitest peer range ${JSON.stringify(range)}`);
  return [oldest, newest];
}

/** NECTAR_VITEST_VERSIONS=3.2.4,4,5 tries other versions by hand. */
const specs = process.env.NECTAR_VITEST_VERSIONS?.split(',') ?? edgesOf(peerRange);
/** Enough of the suite to exercise its hooks, skips with reasons, timing and failure messages. */
const PATTERN = 'lifecycle|first byte|not declared in supports';
const BYTE_FOR_BYTE = 'downloads a file byte for byte and reports it succeeded';

describe(`the suite under vitest ${specs.join(' and ')} (peer range ${peerRange})`, () => {
  let packs: LocalPacks;
  beforeAll(async () => {
    packs = await packLocal();
  }, 60_000);

  // Side by side: each run mostly waits on its servers and timers, and a cold install on npm.
  for (const spec of specs) {
    it.concurrent(`vitest@${spec}: a real downloader passes, a failing one shows its own error`, async ({ expect }) => {
      const project = await VitestProject.prepare(spec, packs);
      const results = await project.run(PATTERN);
      console.info(`vitest ${project.vitestVersion} on ${project.node}: ${results.length} cases`);
      // Concurrent cases assert through their own context's expect.
      expectReferencePasses(expect, results.filter((r) => r.file.endsWith('reference.test.ts')));
      expectFailuresShowTheError(expect, results.filter((r) => r.file.endsWith('fails.test.ts')));
    }, 300_000);
  }
});

function expectReferencePasses(expect: ExpectStatic, results: CaseResult[]): void {
  const failed = results.filter((r) => r.status === 'failed').map((r) => `${r.fullName}: ${r.failureMessages.join('\n')}`);
  expect(failed).toEqual([]);
  expect(results.filter((r) => r.status === 'passed').length).toBeGreaterThanOrEqual(10);
  expect(results.filter((r) => r.title.includes('first byte')).map((r) => r.status)).toEqual(['passed', 'passed']);
  // A capability the reference does not declare shows as a skipped case with its reason.
  const skipped = results.filter((r) => r.status !== 'passed' && r.title.includes('not declared in supports'));
  expect(skipped.length).toBeGreaterThan(0);
}

function expectFailuresShowTheError(expect: ExpectStatic, results: CaseResult[]): void {
  const byteForByte = results.find((r) => r.title === BYTE_FOR_BYTE);
  expect(byteForByte?.status).toBe('failed');
  const message = byteForByte?.failureMessages.join('\n') ?? '';
  expect(message).toContain('NECTAR_BACKEND');
  expect(message).toContain(FAILS_EVERY_REQUEST);
}
