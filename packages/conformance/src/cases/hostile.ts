import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { link, readFile, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type DownloadEventListener, type DownloadReport, DownloadRequest, lockPath, partPath, sidecarPath } from '@nectar/core/backend';
import { expect, it } from 'vitest';
import { expectBytes, expectState, expectStates } from '../outcome.js';
import type { SuiteContext } from '../context.js';
import { watchProcessFaults } from './process-faults.js';

/** Generous: settling must be prompt, but CI machines are busy. */
const PROMPT_MS = 2_000;

/**
 * Hostile neighbours and hostile callers: planted part files, a dead run's leftovers, a caller's
 * stream that never drains, a request source that never yields, listeners that throw anything,
 * and secrets that must appear in nothing the downloader produces.
 */
export function hostileCases(ctx: SuiteContext): void {
  /** A file outside the destination folder that a planted link points at: it must stay as it is. */
  async function victim(): Promise<{ path: string; body: string }> {
    const path = join(await ctx.folder(), 'victim.txt');
    const body = 'precious bytes that must not change\n';
    await writeFile(path, body);
    return { path, body };
  }

  /** A sidecar that vouches for the planted part file: same URL, a validator. */
  async function plantSidecar(dest: string, url: string): Promise<void> {
    const urlDigest = createHash('sha256').update(url).digest('hex');
    await writeFile(sidecarPath(dest), JSON.stringify({ urlDigest, validator: '"v1"', total: null, url }));
  }

  for (const kind of ['symlink', 'hard link'] as const) {
    it(`never writes through a planted part file (a ${kind} to a file outside the destination, with a sidecar)`, async () => {
      const file = await ctx.publish(30_000);
      const target = await victim();
      const dest = join(await ctx.folder(), 'out.bin');
      if (kind === 'symlink') await symlink(target.path, partPath(dest));
      else await link(target.path, partPath(dest));
      await plantSidecar(dest, file.url);
      const [report] = await ctx.downloader(ctx.has('resume') ? { keepPartial: true } : {}).download([new DownloadRequest(file.url, dest)]);
      expectState(report, 'succeeded');
      expectBytes(await readFile(dest), file.body);
      expect(await readFile(target.path, 'utf8')).toBe(target.body);
    });
  }

  it('recovers the part file of a run that was killed: the next run succeeds and leaves nothing behind', async () => {
    const file = await ctx.publish(30_000);
    const folder = await ctx.folder();
    const dest = join(folder, 'out.bin');
    // A lock held by a process that has exited, and the junk it was writing.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    await symlink(`${dead}:1`, lockPath(partPath(dest)));
    await writeFile(partPath(dest), 'half a file from a dead run');
    const [report] = await ctx.downloader().download([new DownloadRequest(file.url, dest)]);
    expectState(report, 'succeeded');
    expectBytes(await readFile(dest), file.body);
    expect(await readdir(folder)).toEqual(['out.bin']);
  });

  it('refuses a destination whose part file a live process holds, touching nothing', async () => {
    const file = await ctx.publish(1000);
    const folder = await ctx.folder();
    const dest = join(folder, 'out.bin');
    // Process 1 is always alive; no start time recorded means the pid alone decides.
    await symlink('1:', lockPath(partPath(dest)));
    await writeFile(partPath(dest), 'another run is writing this');
    const [report] = await ctx.downloader().download([new DownloadRequest(file.url, dest)]);
    expectState(report, 'failed');
    expect(report?.errorReport.code).toBe('NECTAR_DESTINATION');
    expect(String(report?.errorReport.message)).toMatch(/process 1\b/);
    expect(await readFile(partPath(dest), 'utf8')).toBe('another run is writing this');
    expect(existsSync(dest)).toBe(false);
  });

  it('discards a kept part file that failed verification instead of resuming it', async (t) => {
    if (!ctx.has('resume')) return t.skip('resume is not declared (keepPartial needs it)');
    const file = await ctx.publish(20_000);
    const folder = await ctx.folder();
    const dest = join(folder, 'out.bin');
    const wrong = { algorithm: 'sha256', value: '0'.repeat(64) };
    const [report] = await ctx.downloader({ keepPartial: true }).download([new DownloadRequest(file.url, dest, { expectedDigest: wrong })]);
    expect(report?.errorReport.code).toBe('NECTAR_DIGEST_MISMATCH');
    expect(await ctx.leftovers(folder)).toEqual([]);
  });

  it('cancel() and requestTimeout settle promptly when the caller stream never drains, and leave it open', async (t) => {
    if (!ctx.has('streamDestination')) return t.skip('streamDestination is not declared');
    const file = await ctx.publish(4 * 1024 * 1024);
    for (const how of ['cancel', 'requestTimeout'] as const) {
      // Accepts one chunk, then never calls back: a consumer that hung.
      const stuck = new Writable({ highWaterMark: 1, write: () => {} });
      const downloader = ctx.downloader(how === 'requestTimeout' ? { requestTimeout: 500 } : {});
      const settled = downloader.download([new DownloadRequest(file.url, stuck)]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const from = performance.now();
      if (how === 'cancel') downloader.cancel();
      const [report] = await settled;
      expect(performance.now() - from).toBeLessThan(PROMPT_MS);
      expectState(report, how === 'cancel' ? 'canceled' : 'failed');
      if (how === 'requestTimeout') expect(report?.errorReport.code).toBe('NECTAR_TIMEOUT');
      expect(stuck.writableEnded || stuck.destroyed).toBe(false);
      await downloader.close();
    }
  }, 15_000);

  it('cancel() and close() settle promptly when the request source never yields again', async () => {
    const file = await ctx.publish(1000);
    const folder = await ctx.folder();
    async function* hangs(): AsyncGenerator<DownloadRequest> {
      yield new DownloadRequest(file.url, join(folder, 'first.bin'));
      await new Promise(() => {});
    }
    const { downloader, events } = ctx.recorded();
    // Cancel only once the first request is done and the source is waited on: no timing guess.
    const firstDone = new Promise<void>((resolve) => {
      events.onEvent = (event) => {
        if (event === 'downloadSucceeded') resolve();
      };
    });
    const settled = downloader.download(hangs());
    await firstDone;
    await new Promise((resolve) => setTimeout(resolve, 50));
    const from = performance.now();
    downloader.cancel();
    const reports = await settled;
    expect(performance.now() - from).toBeLessThan(PROMPT_MS);
    expectStates(reports, ['succeeded']);
    const second = downloader.download(hangs());
    await new Promise((resolve) => setTimeout(resolve, 100));
    const closing = performance.now();
    await downloader.close();
    await second;
    expect(performance.now() - closing).toBeLessThan(PROMPT_MS);
  });

  it('contains listeners that throw or reject with anything: Symbols, null-prototype objects, throwing getters', async () => {
    const file = await ctx.publish(5000);
    const folder = await ctx.folder();
    const nullProto = Object.create(null) as object;
    const badMessage = Object.create(Error.prototype, {
      message: {
        get() {
          throw new Error('getter');
        },
      },
    }) as Error;
    const listener: DownloadEventListener = {
      downloadStarted: () => {
        throw Symbol('thrown');
      },
      downloadHeaders: () => {
        throw nullProto;
      },
      downloadProgress: () => Promise.reject(badMessage),
      downloadSucceeded: () => Promise.reject(Symbol('rejected')),
    };
    Object.defineProperty(listener, 'downloadFailed', {
      get() {
        throw nullProto;
      },
    });
    const faults = watchProcessFaults();
    try {
      const downloader = ctx.options.create(ctx.downloader().config, listener);
      const reports = await downloader.download([new DownloadRequest(file.url, join(folder, 'ok.bin')), new DownloadRequest(ctx.fixture.missingUrl(), join(folder, 'missing.bin'))]);
      await downloader.close();
      expectStates(reports, ['succeeded', 'failed']);
      await faults.check();
    } finally {
      faults.stop();
    }
  });

  it('puts no secret in reports, errors, events or JSON: URL password, token parameters, configured credentials', async () => {
    const secrets = ['Pa55word-in-url', 'tok3n-in-query', 'S1gnature-value', 'basic-auth-Secret', 'bearer-Secret-value'];
    const missing = new URL(ctx.fixture.missingUrl());
    if (missing.protocol !== 'file:') {
      missing.username = 'user';
      missing.password = secrets[0]!;
    }
    missing.searchParams.set('token', secrets[1]!);
    missing.searchParams.set('X-Amz-Signature', secrets[2]!);
    const config = ctx.has('basicAuth') ? { basicAuthUsername: 'user', basicAuthPassword: secrets[3] } : {};
    const headers = ctx.has('headers') ? { authorization: `Bearer ${secrets[4]}` } : undefined;
    const { downloader, events } = ctx.recorded(config);
    const folder = await ctx.folder();
    const reports = await downloader.download([
      new DownloadRequest(missing.href, join(folder, 'a.bin'), headers === undefined ? {} : { headers }),
      // Not a request at all: its report still names the URL, masked.
      { url: `${missing.href.replace(/^[a-z]+:/, 'bogus:')}`, destination: 42 } as never,
    ]);
    expectStates(reports, ['failed', 'failed']);
    const produced = JSON.stringify({
      reports,
      errors: reports.map((r) => r.errorReport),
      events: events.events.map((e) => JSON.stringify(e.report)),
      urls: reports.map((r: DownloadReport) => [r.url, r.finalUrl]),
    });
    for (const secret of secrets) expect(produced).not.toContain(secret);
    expect(reports[0]?.url).toMatch(/token=\*\*\*/);
  });
}
