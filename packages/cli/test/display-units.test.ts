import { DownloadReport } from '@nectar/core/backend';
import { describe, expect, it } from 'vitest';
import { busiest, downloadLines } from '../src/layout.js';
import { progressLine } from '../src/lines.js';
import { Tally } from '../src/tally.js';

const report = (name: string, total: number | null = 1000) =>
  Object.assign(new DownloadReport({ url: `http://h/${name}`, destination: `/d/${name}`, data: undefined }), { totalBytes: total });

describe('a running download', () => {
  it('counts the bytes of a kept part file as resumed, not as downloaded', () => {
    const tally = new Tally();
    const r = report('a.bin', 1000);
    const running = tally.start(r);
    // Core sets the kept part's size before the first attempt; a redraw may read it.
    r.bytesDownloaded = 600;
    running.observe(1000);
    running.attemptStarted();
    expect(running.resumedFrom).toBe(600);
    r.bytesDownloaded = 700;
    running.observe(2000, true);
    expect(running.moved).toBe(100);
    expect(running.meter.bytesPerSecond).toBe(100);
  });

  it('forgets the resume when a later attempt starts over from 0, and counts what it downloads again', () => {
    const tally = new Tally();
    const r = report('a.bin');
    const running = tally.start(r);
    r.bytesDownloaded = 600;
    running.attemptStarted();
    r.bytesDownloaded = 650;
    running.observe(1000, true);
    r.bytesDownloaded = 0;
    running.attemptStarted();
    expect(running.resumedFrom).toBeNull();
    r.bytesDownloaded = 300;
    running.observe(2000, true);
    expect(running.moved).toBe(350);
  });
});

describe('the total', () => {
  it('takes its ETA from the bytes left and the sum of the running rates, and counts done/known', () => {
    const tally = new Tally();
    tally.known = 5;
    tally.moreToCome = true;
    const [a, b] = [report('a.bin', 1000), report('b.bin', 3000)];
    tally.start(a);
    tally.start(b);
    tally.observe(0);
    a.bytesDownloaded = 500;
    b.bytesDownloaded = 1000;
    for (const r of [a, b]) tally.running(r)?.observe(1000, true);
    // 500 + 1000 B/s together; 500 + 2000 bytes left.
    expect(tally.rate).toBe(1500);
    expect(tally.etaSeconds).toBeCloseTo(2500 / 1500);
    expect(progressLine(tally)).toBe('progress 0/5+ done, 2 running, 1.46 KiB, 1.46 KiB/s, 2.44 KiB left, ETA 1.7 s');
  });

  it('has no ETA while the size of a running download is unknown', () => {
    const tally = new Tally();
    tally.start(report('a.bin', null));
    expect(tally.remaining).toBeNull();
    expect(tally.etaSeconds).toBeNull();
  });
});

describe('rows on a terminal', () => {
  it('show every download that fits, else the busiest in start order and how many more', () => {
    const tally = new Tally();
    const reports = ['a', 'b', 'c', 'd'].map((n) => report(n));
    reports.forEach((r, i) => {
      const running = tally.start(r);
      running.observe(0, true);
      r.bytesDownloaded = [10, 400, 20, 300][i] ?? 0;
      running.observe(1000, true);
    });
    const all = [...tally.active.values()];
    expect(busiest(all, 4)).toEqual({ shown: all, hidden: 0 });
    const layout = busiest(all, 3);
    expect(layout.shown.map((r) => r.report.url)).toEqual(['http://h/b', 'http://h/d']);
    expect(layout.hidden).toBe(2);
    expect(downloadLines(10)).toBe(8);
    expect(downloadLines(undefined)).toBe(22);
  });
});
