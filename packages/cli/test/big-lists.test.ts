import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DestinationPlanner } from '../src/destinations.js';
import { NameAllocator } from '../src/names.js';
import { summaryLines } from '../src/summary.js';
import { LISTED_FAILURES, Tally } from '../src/tally.js';
import { writeFile } from 'node:fs/promises';
import { DownloadReport } from '@nectar/core';
import { partPath } from '@nectar/core/backend';
import { tempDir } from './cli-process.js';

/** A full collection, so that the heap measured is what is kept, not garbage not yet swept. */
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heap(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function failedReport(url: string, destination: string): DownloadReport {
  const report = new DownloadReport({ url, destination, data: undefined });
  report.state = 'failed';
  return report;
}

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

describe('big lists', () => {
  // Before: 40 s (32 s of CPU) — each name counted up from .1, and each missing file cost a thrown
  // ENOENT. After: about 0.5 s. The bound is generous for slow CI machines.
  it('plans 20 000 URLs that share a file name in a few seconds, each with its own name', async () => {
    const planner = new DestinationPlanner({ cwd: dir.path, directory: 'out', existing: 'fail' });
    await planner.prepare();
    const started = performance.now();
    const paths = new Set<string>();
    for (let i = 0; i < 20_000; i++) {
      const planned = await planner.plan(`https://example.org/a.txt?i=${i}`);
      if (!('request' in planned)) throw new Error('a URL was not planned');
      paths.add(planned.request.destination as string);
    }
    expect(performance.now() - started).toBeLessThan(5000);
    expect(paths.size).toBe(20_000);
    expect(paths.has(`${dir.path}/out/a.txt.19999`)).toBe(true);
  });

  it('remembers names, not URLs: a million URLs sharing a name keep memory flat', () => {
    const names = new NameAllocator('/srv/out');
    names.allocate('a.txt');
    const before = heap();
    for (let i = 0; i < 1_000_000; i++) names.allocate('a.txt');
    // Before, each suffixed name was stored (and found by counting up from .1: this never ended);
    // now the heap grows by about 40 KB.
    expect(heap() - before).toBeLessThan(5 * 1024 * 1024);
    expect(names.allocate('a.txt')).toBe('/srv/out/a.txt.1000001');
  });

  it('forgets the names of dead links: 50 000 distinct names that failed keep the heap flat', async () => {
    const planner = new DestinationPlanner({ cwd: dir.path, directory: 'out', existing: 'fail' });
    await planner.prepare();
    const settleFailed = async (i: number) => {
      const planned = await planner.plan(`http://127.0.0.1/gone/${i}.bin`);
      if (!('request' in planned)) throw new Error('a URL was not planned');
      planner.release(failedReport(planned.request.url, planned.request.destination as string), [planned.request.destination as string]);
    };
    await settleFailed(-1);
    const before = heap();
    for (let i = 0; i < 50_000; i++) await settleFailed(i);
    // Before, each name stayed in the allocator’s set: about 3 MB here, 6 MB per 100 000 URLs.
    expect(heap() - before).toBeLessThan(1024 * 1024);
  });

  it('gives a failed download’s name to a later URL, unless a file or a kept part file is there', async () => {
    const planner = new DestinationPlanner({ cwd: dir.path, directory: 'out', existing: 'fail' });
    await planner.prepare();
    const plan = async (url: string) => {
      const planned = await planner.plan(url);
      if (!('request' in planned)) throw new Error('a URL was not planned');
      return planned.request.destination as string;
    };
    const first = await plan('http://127.0.0.1/a/x.bin');
    planner.release(failedReport('http://127.0.0.1/a/x.bin', first), [first]);
    expect(await plan('http://127.0.0.1/b/x.bin')).toBe(first);
    await writeFile(partPath(first), 'kept by -c');
    planner.release(failedReport('http://127.0.0.1/b/x.bin', first), [first]);
    expect(await plan('http://127.0.0.1/c/x.bin')).toBe(`${first}.1`);
  });

  it('never hands out a name twice when URLs ask for suffixed names themselves', () => {
    const names = new NameAllocator('/srv/out');
    const asked = ['a.txt', 'a.txt', 'a.txt.1', 'a.txt.2', 'a.txt', 'A.TXT.3', 'a.txt', 'a.txt.1', 'a.txt.01'];
    const paths = asked.map((name) => names.allocate(name).toLowerCase());
    expect(new Set(paths).size).toBe(asked.length);
    expect(paths).toEqual(['a.txt', 'a.txt.1', 'a.txt.1.1', 'a.txt.2', 'a.txt.3', 'a.txt.3.1', 'a.txt.4', 'a.txt.1.2', 'a.txt.01'].map((n) => `/srv/out/${n}`));
  });

  it('keeps the first 100 failures for the summary, counting the rest', () => {
    const tally = new Tally();
    for (let i = 0; i < 1000; i++) {
      const report = new DownloadReport({ url: `https://example.org/${i}`, destination: '/tmp/x', data: undefined });
      report.state = 'failed';
      report.errorReport = { code: 'NECTAR_NOT_FOUND', message: 'gone' };
      tally.settle({ report, destination: '/tmp/x' });
    }
    const lines = summaryLines(tally, false);
    expect(tally.failures).toHaveLength(LISTED_FAILURES);
    expect(lines).toHaveLength(1 + LISTED_FAILURES + 1);
    expect(lines.at(-1)?.text).toBe('  … and 900 more failures (each was printed when it happened)');
    expect(lines[0]?.text).toMatch(/^0 succeeded, 1000 failed/);
  });
});
