import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type HttpFixture, httpFixture } from '@nectar/conformance';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EXIT } from '../src/exit-codes.js';
import { runCli, tempDir } from './cli-process.js';

const fixture: HttpFixture = httpFixture();
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeAll(() => fixture.start());
afterAll(() => fixture.stop());
beforeEach(async () => {
  dir = await tempDir();
  fixture.reset();
});
afterEach(() => dir.remove());

const outcomes = (stdout: string) => stdout.trim().split('\n').map((line) => (JSON.parse(line) as { outcome: string | null }).outcome);

describe('nectar get --state FILE', () => {
  it('asks again only conditionally: the second run is all 304s, files untouched, counted by outcome', async () => {
    const urls = await Promise.all(['a.bin', 'b.bin', 'c.bin'].map((name, i) => fixture.publish(`state/${name}`, Buffer.alloc(1000 * (i + 1), i))));
    const state = join(dir.path, 'state.db');
    const first = await runCli([...urls, '-d', join(dir.path, 'files'), '--state', state, '--json']);
    expect(first.code).toBe(EXIT.ok);
    expect(outcomes(first.stdout)).toEqual(['downloaded', 'downloaded', 'downloaded']);
    const before = await stat(join(dir.path, 'files', 'b.bin'), { bigint: true });
    fixture.reset();

    const second = await runCli([...urls, '-d', join(dir.path, 'files'), '--state', state, '--json']);
    expect(second.code).toBe(EXIT.ok);
    expect(outcomes(second.stdout)).toEqual(['unchanged', 'unchanged', 'unchanged']);
    expect(second.stderr).toMatch(/by outcome: 3 unchanged \(5\.86 KiB\)/);
    expect(fixture.received.map((r) => typeof r.headers['if-none-match'])).toEqual(['string', 'string', 'string']);
    expect(fixture.stats.bytesSent).toBe(0);
    const after = await stat(join(dir.path, 'files', 'b.bin'), { bigint: true });
    expect([after.ino, after.mtimeNs]).toEqual([before.ino, before.mtimeNs]);
  });

  it('refuses -o - (nothing to record)', async () => {
    const result = await runCli(['http://127.0.0.1:9/x', '-o', '-', '--state', join(dir.path, 's.db')]);
    expect(result.code).toBe(EXIT.usage);
    expect(result.stderr).toContain('--state records files');
  });
});
