import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startCli, tempDir } from './cli-process.js';
import { type PacedServer, pacedServer } from './paced-server.js';
import { type TerminalLine, etaSeconds, runInTerminal } from './terminal.js';

// The display as a user sees it: the built nectar in a pseudo-terminal (util-linux `script`),
// its output drawn by xterm.js, against a real node:http server that paces its bodies.

let server: PacedServer;
let dir: { path: string; remove: () => Promise<void> };

beforeAll(async () => {
  server = await pacedServer();
});
afterAll(() => server.stop());
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const BAR = /\[[= ]+\]|\[size unknown/;

/**
 * The lines the terminal wrapped, before the summary: the live display fits every line to the
 * width; the summary, printed once the bars are gone, keeps its reasons whole.
 */
const wrappedBeforeSummary = (lines: readonly TerminalLine[]) => {
  const summary = lines.findIndex((line) => /^\d+ succeeded, /.test(line.text));
  return lines.slice(0, summary < 0 ? lines.length : summary).filter((line) => line.wrapped);
};
const missing = () => server.url('missing/gone.bin', 10, 1000).replace('/missing%2Fgone.bin', '/missing/gone.bin');

describe('on a terminal', () => {
  it('shows the busiest downloads and "+K more" when they outnumber its rows, and counts done/known', async () => {
    // 12 URLs, 10 running at once (-j 10), on a terminal with room for 6 rows under the total.
    const urls = Array.from({ length: 11 }, (_, i) => server.url(`file-${i}.bin`, 60_000 + i * 1000, 30_000));
    const result = await runInTerminal([...urls, missing(), '-j', '10', '--retry', '0', '-d', dir.path], { columns: 70, rows: 8 });
    expect(result.code).toBe(9);
    const running = result.frames.filter((frame) => frame.some((row) => /^\+\d+ more running/.test(row)));
    expect(running.length).toBeGreaterThan(0);
    for (const frame of result.frames) {
      // The total stays on screen (at most one), and the rows never outnumber the terminal's.
      expect(frame.filter((row) => row.startsWith('total ')).length).toBeLessThanOrEqual(1);
      expect(frame.filter((row) => BAR.test(row)).length).toBeLessThanOrEqual(8 - 1);
    }
    const totals = result.frames.flat().filter((row) => row.startsWith('total '));
    expect(totals.length).toBeGreaterThan(0);
    // done/known: all 12 URLs of the command line are known from the start, not just those running.
    for (const total of totals) expect(total).toMatch(/^total \d+\/12 /);
    // Once it ended: the logged lines, no bar fragments, nothing wrapped.
    const text = result.lines.map((line) => line.text);
    expect(text.filter((line) => line.startsWith('done '))).toHaveLength(11);
    expect(text.filter((line) => BAR.test(line) || line.includes('more running') || line.startsWith('total '))).toEqual([]);
    expect(wrappedBeforeSummary(result.lines)).toEqual([]);
    expect(await readdir(dir.path)).toHaveLength(11);
  }, 30_000);

  it('cuts lines longer than the terminal to its width, wide characters included', async () => {
    const long = `${'very-long-name-'.repeat(6)}文件名字很长的文件.bin`;
    const url = server.url(long, 80_000, 40_000);
    const result = await runInTerminal([url, '-d', dir.path], { columns: 50, rows: 10 });
    expect(result.code).toBe(0);
    expect(wrappedBeforeSummary(result.lines)).toEqual([]);
    // The done line keeps its start and its end (what happened, how fast), cut in the middle.
    const done = result.lines.find((line) => line.text.startsWith('done '));
    expect(done?.text).toMatch(/^done .*….*\/s\)$/);
    // The bar's label keeps the end of the name, where the extension is.
    expect(result.frames.flat().some((row) => /很长的文件\.bin +\[/.test(row))).toBe(true);
  }, 20_000);

  it('gives the total the ETA of what is left at the current rate: the last download\'s own', async () => {
    const quick = [1, 2, 3].map((i) => server.url(`quick-${i}.bin`, 20_000, 1_000_000));
    const slow = server.url('slow.bin', 200_000, 50_000);
    const result = await runInTerminal([...quick, slow, '-d', dir.path], { columns: 100, rows: 10 });
    expect(result.code).toBe(0);
    // Frames where only the slow one runs: the total's ETA is the slow file's, not one made up
    // of the bytes the quick ones moved a moment ago.
    const frames = result.frames.map((frame) => ({
      total: etaSeconds(frame.find((row) => row.startsWith('total 3/4 ')) ?? ''),
      row: etaSeconds(frame.find((row) => row.startsWith('slow.bin')) ?? ''),
    }));
    const compared = frames.filter(({ total, row }) => total !== null && row !== null);
    expect(compared.length).toBeGreaterThan(3);
    frames.forEach(({ total, row }, i) => {
      if (total === null || row === null) return;
      // A chunk of output may end between the total's redraw and the row's: then the row's new
      // text is in the next frame.
      const next = frames[i + 1]?.row ?? row;
      expect(Math.min(Math.abs(total - row), Math.abs(total - next))).toBeLessThanOrEqual(0.15);
    });
  }, 20_000);

  it('colours failures red, and not with NO_COLOR (an empty NO_COLOR is ignored, as no-color.org says)', async () => {
    const ok = server.url('ok.bin', 1000, 1_000_000);
    const coloured = await runInTerminal([ok, missing(), '-d', dir.path], { columns: 120, rows: 10 });
    expect(coloured.code).toBe(9);
    const red = (result: typeof coloured) => result.lines.filter((line) => line.red).map((line) => line.text.replace(/:\d+\//, ':PORT/'));
    // The failure as it happened and in the summary; a done line is not red.
    expect(red(coloured)).toEqual([
      'failed   http://127.0.0.1:PORT/missing/gone.bin?size=10&rate=1000: 404 Not Found (NECTAR_HTTP_STATUS)',
      '  failed http://127.0.0.1:PORT/missing/gone.bin?size=10&rate=1000: 404 Not Found (NECTAR_HTTP_STATUS)',
    ]);
    const plain = await runInTerminal([ok, missing(), '-d', join(dir.path, 'again')], { columns: 120, rows: 10, env: { NO_COLOR: '1' } });
    expect(plain.code).toBe(9);
    expect(plain.lines.some((line) => /^failed +http:\S+\/missing\/gone\.bin\S*: 404 Not Found/.test(line.text))).toBe(true);
    expect(red(plain)).toEqual([]);
    // No colour of any kind: no SGR colour sequence at all.
    expect(plain.raw.includes(`${String.fromCharCode(27)}[3`)).toBe(false);
    // Node's own check takes NO_COLOR= as set; the CLI does not.
    const empty = await runInTerminal([ok, missing(), '-d', join(dir.path, 'empty')], { columns: 120, rows: 10, env: { NO_COLOR: '' } });
    expect(red(empty)).toEqual(red(coloured));
  }, 30_000);

  it('says where a resumed file continues, and counts only the new bytes in its speed', async () => {
    const size = 200_000;
    const url = server.url('resumed.bin', size, 50_000);
    const first = startCli([url, '-c', '-d', dir.path]);
    await first.waitForStderr(/started /);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    first.process.kill('SIGINT');
    expect((await first.done).code).toBe(130);
    expect(await readdir(dir.path)).toContain('.resumed.bin.nectar-part');
    const result = await runInTerminal([url, '-c', '-d', dir.path], { columns: 160, rows: 10 });
    expect(result.code).toBe(0);
    expect(await readFile(join(dir.path, 'resumed.bin'))).toEqual(server.body(size));
    const offset = Number(/^bytes=(\d+)-$/.exec(server.ranges.at(-1) ?? '')?.[1]);
    expect(offset).toBeGreaterThan(0);
    const text = result.lines.map((line) => line.text);
    const kib = (bytes: number) => `${(bytes / 1024).toFixed(bytes / 1024 < 10 ? 2 : 1)} KiB`;
    expect(text).toContain(`resuming ${url} -> ${join(dir.path, 'resumed.bin')} at ${kib(offset)} of ${kib(size)}`);
    const done = text.find((line) => line.startsWith('done '));
    expect(done).toContain(`(resumed at ${kib(offset)}: ${kib(size - offset)} more in `);
    // The speed is the new bytes over the time: at most the server's 50 000 B/s (and some slack),
    // where counting the kept part would claim far more.
    const speed = Number(/, ([\d.]+) KiB\/s\)$/.exec(done ?? '')?.[1]) * 1024;
    expect(speed).toBeGreaterThan(10_000);
    expect(speed).toBeLessThan(50_000 * 1.5);
    expect(result.frames.flat().some((row) => /^resumed\.bin .*resumed at /.test(row))).toBe(true);
  }, 30_000);
});
