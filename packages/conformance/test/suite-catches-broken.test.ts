import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type BrokenName, FAILS_EVERY_REQUEST } from './broken/downloaders.js';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;

interface JsonReport {
  numFailedTests: number;
  testResults: Array<{ assertionResults: CaseResult[] }>;
}

interface CaseResult {
  title: string;
  status: string;
  failureMessages: string[];
}

/** Runs the suite on one broken downloader in a child vitest and returns each case's result by title. */
async function suiteOn(name: BrokenName, filter: string): Promise<Map<string, CaseResult>> {
  const output = join(tmpdir(), `nectar-broken-${name}-${process.pid}.json`);
  const args = ['vitest', 'run', '--config', 'vitest.broken.config.ts', '-t', filter, '--reporter=json', `--outputFile=${output}`];
  await run('npx', args, { cwd: root, env: { ...process.env, NECTAR_BROKEN: name } }).catch(() => {});
  const report = JSON.parse(await readFile(output, 'utf8')) as JsonReport;
  await rm(output, { force: true });
  const results = new Map<string, CaseResult>();
  for (const file of report.testResults) for (const test of file.assertionResults) results.set(test.title, test);
  return results;
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
      const results = await suiteOn(name, filter);
      expect(results.get(title)?.status).toBe('failed');
    }, 60_000);
  }

  it("shows the downloader's own error code and message when a case fails", async () => {
    const title = 'downloads a file byte for byte and reports it succeeded';
    const result = (await suiteOn('fails-every-request', 'byte for byte')).get(title);
    expect(result?.status).toBe('failed');
    const message = result?.failureMessages.join('\n') ?? '';
    expect(message).toContain('NECTAR_BACKEND');
    expect(message).toContain(FAILS_EVERY_REQUEST);
  }, 60_000);

  it('fails a downloader that takes 3 s to cancel a request waiting for its first byte, saying how long it took', async () => {
    const title = 'cancel() while a request waits for its first byte settles promptly as canceled';
    const result = (await suiteOn('cancels-late-before-first-byte', 'waits for its first byte')).get(title);
    expect(result?.status).toBe('failed');
    expect(result?.failureMessages.join('\n')).toMatch(/settled \d+ ms after the cancel, as canceled/);
  }, 60_000);
});
