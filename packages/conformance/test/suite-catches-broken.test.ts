import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { BrokenName } from './broken/downloaders.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

interface JsonReport {
  numFailedTests: number;
  testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }>;
}

/** Runs the suite on one broken downloader in a child vitest and returns each case's status. */
async function suiteOn(name: BrokenName, filter: string): Promise<Map<string, string>> {
  const output = join(tmpdir(), `nectar-broken-${name}-${process.pid}.json`);
  const args = ['vitest', 'run', '--config', 'vitest.broken.config.ts', '-t', filter, '--reporter=json', `--outputFile=${output}`];
  await run('npx', args, { cwd: root, env: { ...process.env, NECTAR_BROKEN: name } }).catch(() => {});
  const report = JSON.parse(await readFile(output, 'utf8')) as JsonReport;
  await rm(output, { force: true });
  const statuses = new Map<string, string>();
  for (const file of report.testResults) for (const test of file.assertionResults) statuses.set(test.title, test.status);
  return statuses;
}

const cases: Array<[BrokenName, string, string]> = [
  ['wrong-event-order', 'exactly one succeeded', 'fires started, headers?, progress (at least once) and exactly one succeeded, in that order'],
  ['leaves-partial-files', 'leaving nothing at the destination', 'fails a missing file with an errorReport, leaving nothing at the destination'],
  ['ignores-max-concurrent', 'maxConcurrent requests in flight', 'never has more than maxConcurrent requests in flight, and does use them'],
  ['closes-the-stream', 'never ends it', 'writes to a caller stream and never ends it, on success or failure'],
  ['crashes-on-refusal', 'above maxFileSize', 'refuses a Content-Length above maxFileSize after the headers, without crashing'],
  [
    'ignores-cancel-on-stuck-stream',
    'never drains',
    'cancel() and requestTimeout settle promptly when the caller stream never drains, and leave it open',
  ],
];

describe('the suite catches broken downloaders', () => {
  for (const [name, filter, title] of cases) {
    it(`fails '${title}' for a downloader that ${name.replaceAll('-', ' ')}`, async () => {
      const statuses = await suiteOn(name, filter);
      expect(statuses.get(title)).toBe('failed');
    }, 60_000);
  }
});
