import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type DownloadReport, DownloadRequest, type DownloadRequestOptions } from '@nectar/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { expectBytes, expectState } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { HostileServer } from '../fixtures/hostile-server.js';
import { watchProcessFaults } from './process-faults.js';

const RETRY = { retries: 2, retryDelay: 10, retryMaxDelay: 50 } as const;

/**
 * Servers that lie. Each lie fails its one request cleanly — the right code, no part file, no
 * crash of the process or of a worker thread — while a good request in the same download()
 * succeeds; a resume answered from another version of the file is never spliced.
 */
export function hostileHttpCases(ctx: SuiteContext): void {
  const server = new HostileServer();
  beforeAll(() => server.start());
  afterAll(() => server.stop());

  async function fetchAll(config: Record<string, unknown>, ...requests: Array<[string, DownloadRequestOptions?]>) {
    const folder = await ctx.folder();
    // Small enough for every case's maxFileSize.
    const good = await ctx.publish(50);
    const faults = watchProcessFaults();
    try {
      const list = [
        new DownloadRequest(good.url, join(folder, 'good.bin')),
        ...requests.map(([path, options], i) => new DownloadRequest(server.url(path), join(folder, `hostile-${i}.bin`), options)),
      ];
      const [goodReport, ...reports] = await ctx.downloader({ ...RETRY, ...config }).download(list);
      expectState(goodReport, 'succeeded');
      expectBytes(await readFile(join(folder, 'good.bin')), good.body);
      await faults.check();
      return { folder, reports: reports as DownloadReport[] };
    } finally {
      faults.stop();
    }
  }

  async function expectCleanFailure(report: DownloadReport | undefined, code: RegExp, folder: string): Promise<void> {
    expectState(report, 'failed');
    expect(String(report?.errorReport.code)).toMatch(code);
    expect(existsSync(String(report?.destination))).toBe(false);
    expect((await ctx.leftovers(folder)).filter((f) => f.includes('.nectar-part'))).toEqual([]);
  }

  it('refuses a Content-Length above maxFileSize after the headers, without crashing', async () => {
    const { folder, reports } = await fetchAll({ maxFileSize: 60 }, ['/length']);
    await expectCleanFailure(reports[0], /^NECTAR_MAX_FILE_SIZE$/, folder);
  });

  it('refuses a Content-Length other than expectedSize after the headers, without crashing', async () => {
    const { folder, reports } = await fetchAll({}, ['/length', { expectedSize: 99 }]);
    await expectCleanFailure(reports[0], /^NECTAR_SIZE_MISMATCH$/, folder);
  });

  it('refuses a Content-Encoding that decompress cannot decode, without crashing', async () => {
    const { folder, reports } = await fetchAll({ decompress: true }, ['/encoding']);
    await expectCleanFailure(reports[0], /^NECTAR_NOT_SUPPORTED$/, folder);
    expect(String(reports[0]?.errorReport.message)).toMatch(/x-unheard-of/);
  });

  it('refuses a 206 to a request that asked for no resume (its own Range header)', async (t) => {
    if (!ctx.has('headers')) return t.skip('headers is not declared');
    const { folder, reports } = await fetchAll({}, ['/partial', { headers: { range: 'bytes=0-9' } }], ['/partial']);
    await expectCleanFailure(reports[0], /^NECTAR_RESUME$/, folder);
    await expectCleanFailure(reports[1], /^NECTAR_RESUME$/, folder);
  });

  it('fails a connection reset mid-body and a broken chunked body cleanly', async () => {
    const { folder, reports } = await fetchAll({ retries: 1 }, ['/reset'], ['/chunked']);
    await expectCleanFailure(reports[0], /^NECTAR_(NETWORK|SIZE_MISMATCH)$/, folder);
    await expectCleanFailure(reports[1], /^NECTAR_(NETWORK|BACKEND)$/, folder);
  });

  for (const [path, lie] of [
    ['/changed', 'another ETag'],
    ['/resized', 'another total size'],
  ] as const) {
    it(`never splices a resume answered with ${lie}: it starts over and writes the new file whole`, async (t) => {
      if (!ctx.has('resume')) return t.skip('resume is not declared');
      const before = server.requestsTo(path).length;
      const { folder, reports } = await fetchAll({}, [path]);
      const report = reports[0];
      expectState(report, 'succeeded');
      expectBytes(await readFile(String(report?.destination)), server.other);
      const requests = server.requestsTo(path).slice(before);
      expect(requests.map((r) => r.headers.range ?? 'whole')).toEqual(['whole', 'bytes=50-', 'whole']);
      expect(requests[1]?.headers['if-range']).toBe('"v1"');
      expect((await ctx.leftovers(folder)).filter((f) => f.includes('.nectar-part'))).toEqual([]);
    });
  }

  it('waits past an interim response (103 Early Hints, 102 Processing) sent apart from the final one', async () => {
    // Bounded, so that a client that takes the interim response for the final one fails here
    // rather than waiting for its minimum-throughput window.
    const { reports } = await fetchAll({ retries: 0, requestTimeout: 5000 }, ['/early-hints'], ['/processing']);
    for (const report of reports) {
      expectState(report, 'succeeded');
      expectBytes(await readFile(String(report.destination)), server.body);
    }
  });

  it('never takes a 416 for "complete" when no size was announced: it starts over', async (t) => {
    if (!ctx.has('resume')) return t.skip('resume is not declared');
    const before = server.requestsTo('/shrunk').length;
    const { reports } = await fetchAll({}, ['/shrunk']);
    expectState(reports[0], 'succeeded');
    expectBytes(await readFile(String(reports[0]?.destination)), server.other);
    const requests = server.requestsTo('/shrunk').slice(before);
    expect(requests.map((r) => r.headers.range ?? 'whole')).toEqual(['whole', 'bytes=50-', 'whole']);
  });

  it('fails a server trickling bytes below minSpeed, as a retryable timeout', async () => {
    const started = performance.now();
    const { folder, reports } = await fetchAll({ retries: 0, minSpeed: 100, minSpeedTime: 1000 }, ['/trickle']);
    await expectCleanFailure(reports[0], /^NECTAR_TIMEOUT$/, folder);
    expect(reports[0]?.errorReport.timeout).toBe('minSpeed');
    // Not before one whole window: the floor counts from the attempt's start.
    expect(performance.now() - started).toBeGreaterThan(900);
    expect(performance.now() - started).toBeLessThan(6000);
  });
}
