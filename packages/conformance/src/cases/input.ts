import { join } from 'node:path';
import { DownloadRequest, NectarError } from '@nectar/core';
import { expect, it } from 'vitest';
import { expectState, expectStates } from '../outcome.js';
import type { SuiteContext } from '../context.js';

/** Misuse rejects download(); a bad request fails its own report; neither crashes anything. */
export function inputCases(ctx: SuiteContext): void {
  it('rejects download() of something that is not an iterable of requests', async () => {
    const downloader = ctx.downloader();
    for (const bad of [undefined, null, 42, 'https://example.test/a', { url: 'x' }]) {
      await expect(downloader.download(bad as never)).rejects.toMatchObject({ code: 'NECTAR_INVALID_ARGUMENT' });
    }
    await expect(downloader.download([], { signal: 'nope' } as never)).rejects.toBeInstanceOf(NectarError);
    await expect(downloader.stream(42 as never).next()).rejects.toMatchObject({ code: 'NECTAR_INVALID_ARGUMENT' });
  });

  it('fails invalid items of the list with a report that names the problem', async () => {
    const file = await ctx.publish(10);
    const folder = await ctx.folder();
    const reports = await ctx.downloader().download([
      { url: 'not a url', destination: join(folder, 'a') },
      { url: file.url, destination: '' },
      42 as never,
      new DownloadRequest(file.url, join(folder, 'ok')),
    ]);
    expectStates(reports, ['failed', 'failed', 'failed', 'succeeded']);
    expect(reports[0]?.errorReport).toMatchObject({ code: 'NECTAR_INVALID_REQUEST' });
    expect(String(reports[0]?.errorReport.message)).toMatch(/url/);
    expect(String(reports[1]?.errorReport.message)).toMatch(/destination/);
    expect(await ctx.leftovers(folder)).toEqual(['ok']);
  });

  it('fails a URL of a scheme it does not serve, naming the scheme', async () => {
    const folder = await ctx.folder();
    const [report] = await ctx.downloader().download([new DownloadRequest('nosuchscheme://host/file', join(folder, 'x'))]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_UNSUPPORTED_SCHEME');
    expect(String(report?.errorReport.message)).toContain('nosuchscheme');
  });

  it('throws on constructing requests from wrong types, empty strings and relative URLs', () => {
    expect(() => new DownloadRequest('', '/tmp/x')).toThrow(/url/);
    expect(() => new DownloadRequest('/relative/path', '/tmp/x')).toThrow(/absolute URL/);
    expect(() => new DownloadRequest(42 as never, '/tmp/x')).toThrow(/url/);
    expect(() => new DownloadRequest('https://h/x', 42 as never)).toThrow(/destination/);
    expect(() => new DownloadRequest('https://h/x', '/tmp/x', { headers: { 'bad name': 'v' } })).toThrow(/header name/);
  });
}
