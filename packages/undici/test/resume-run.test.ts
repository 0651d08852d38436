import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const COUNT = Number(process.env.RESUME_COUNT ?? 2000);
const script = fileURLToPath(new URL('./resume-run/run.mjs', import.meta.url));
const segmentedScript = fileURLToPath(new URL('./resume-run/segmented.mjs', import.meta.url));

const LARGE = 1536 * 1024;
/** File i: mostly small, every 40th one 1.5 MiB, so that a kill can land in the middle of a body. */
function bodyOf(i: number): Buffer {
  const size = i % 40 === 0 ? LARGE : 500 + ((i * 7919) % 8000);
  const seed = createHash('sha256').update(`file ${i}`).digest();
  return Buffer.alloc(size, seed);
}
const bodies = Array.from({ length: COUNT }, (_, i) => bodyOf(i));
const etags = bodies.map((b) => `"${createHash('sha256').update(b).digest('hex').slice(0, 20)}"`);

/** What the server itself saw: body bytes written per file, and each answer's status. */
const sent = new Array<number>(COUNT).fill(0);
const answers: Array<{ file: number; status: number; conditional: boolean }> = [];

/** The file fetched in two segments: its first half trickles, its second comes at once. */
const SPLIT = Buffer.from(Array.from({ length: 4 * 1024 * 1024 }, (_, i) => (i * 31 + (i >> 12)) & 0xff));
const SPLIT_ETAG = '"split-v1"';
/** What the server saw of /split: each request's Range header (or 'whole'), and bytes of the first half sent. */
const splitLog: string[] = [];
let firstHalfSent = 0;
/** Off for the rerun: it only has to finish. */
let trickle = true;

/** /split: whole answers trickle (the first segment), ranges from the middle on come at full speed. */
function serveSplit(req: IncomingMessage, res: ServerResponse): void {
  splitLog.push(req.headers.range ?? 'whole');
  const match = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
  const ifRange = req.headers['if-range'];
  const ranged = match !== null && (ifRange === undefined || ifRange === SPLIT_ETAG);
  const start = ranged ? Number(match[1]) : 0;
  const end = ranged && match[2] !== '' ? Number(match[2]) + 1 : SPLIT.length;
  const headers: Record<string, string | number> = { etag: SPLIT_ETAG, 'accept-ranges': 'bytes', 'content-length': end - start };
  if (ranged) headers['content-range'] = `bytes ${start}-${end - 1}/${SPLIT.length}`;
  res.writeHead(ranged ? 206 : 200, headers);
  if (start >= SPLIT.length / 2 || !trickle) return void res.end(SPLIT.subarray(start, end));
  let at = start;
  const next = () => {
    if (res.destroyed) return;
    if (at >= end) return void res.end();
    const chunk = SPLIT.subarray(at, Math.min(end, at + 16 * 1024));
    at += chunk.length;
    firstHalfSent += chunk.length;
    res.write(chunk, () => setTimeout(next, 20));
  };
  next();
}

/** Serves /f/<i> with an ETag, If-None-Match (304), Range with If-Range (206), in paced 64 KiB chunks. */
function serve(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/split') return void serveSplit(req, res);
  const file = Number(req.url?.split('/')[2]);
  const body = bodies[file];
  if (body === undefined) return void res.writeHead(404).end();
  const etag = etags[file] as string;
  const conditional = req.headers['if-none-match'] !== undefined;
  if (req.headers['if-none-match'] === etag) {
    answers.push({ file, status: 304, conditional });
    return void res.writeHead(304, { etag }).end();
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  const start = range !== null && req.headers['if-range'] === etag ? Number(range[1]) : 0;
  const status = start > 0 ? 206 : 200;
  answers.push({ file, status, conditional });
  const headers: Record<string, string | number> = { etag, 'content-length': body.length - start };
  if (status === 206) headers['content-range'] = `bytes ${start}-${body.length - 1}/${body.length}`;
  res.writeHead(status, headers);
  let at = start;
  const next = () => {
    if (res.destroyed) return;
    if (at >= body.length) return void res.end();
    const chunk = body.subarray(at, at + 64 * 1024);
    at += chunk.length;
    sent[file] = (sent[file] ?? 0) + chunk.length;
    res.write(chunk, () => setTimeout(next, 2));
  };
  next();
}

let server: Server;
let origin: string;
let folder: string;
beforeAll(async () => {
  server = createServer(serve);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  folder = await mkdtemp(join(tmpdir(), 'nectar-resume-run-'));
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(folder, { recursive: true, force: true });
});

/** Starts the run; resolves with the child once `settled` requests have settled in it. */
function startRun(): { child: ChildProcess; lines: string[]; settled(n: number): Promise<void> } {
  const child = spawn(process.execPath, [script, origin, join(folder, 'files'), join(folder, 'state.db'), String(COUNT)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines: string[] = [];
  let buffered = '';
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const w of waiters.filter((w) => lines.length >= w.n)) w.resolve();
  });
  const settled = (n: number) => new Promise<void>((resolve) => waiters.push({ n, resolve }));
  return { child, lines, settled };
}

/** Waits until a part file in the destination folder holds at least `bytes`. */
async function partGrown(bytes: number): Promise<void> {
  const files = join(folder, 'files');
  for (;;) {
    for (const name of (await readdir(files)).filter((n) => n.endsWith('.nectar-part'))) {
      const size = await stat(join(files, name)).then((s) => s.size, () => 0);
      if (size >= bytes) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('whole-run resume', () => {
  it('a 2,000-file run killed three times completes with every file byte-identical, each byte fetched at most once more than needed', async () => {
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(folder, 'files'));
    // Killed once 20%, 45%, then 70% of the list settled in that run (each run re-asks,
    // conditionally, for what earlier ones finished).
    for (const settledInRun of [0.2, 0.45, 0.7].map((f) => Math.round(f * COUNT))) {
      const run = startRun();
      await run.settled(settledInRun);
      // At the next moment the client has written a quarter of a large file: a part file to resume is then certain.
      await partGrown(LARGE / 4);
      run.child.kill('SIGKILL');
      await once(run.child, 'exit');
    }
    const killedAnswers = answers.length;
    const last = startRun();
    const [code] = (await once(last.child, 'exit')) as [number];
    expect(code).toBe(0);

    // The last run's reports are complete: one success per file.
    const reports = last.lines.map((line) => line.split(' '));
    expect(reports).toHaveLength(COUNT);
    expect(reports.every(([, state]) => state === 'succeeded')).toBe(true);
    const outcomes = new Map<string, number>();
    for (const [, , outcome] of reports) outcomes.set(outcome as string, (outcomes.get(outcome as string) ?? 0) + 1);
    // Files finished before the last kill are asked for conditionally (304); part files resume.
    expect(outcomes.get('unchanged')).toBeGreaterThanOrEqual(Math.round(0.7 * COUNT));
    expect(outcomes.get('resumed') ?? 0).toBeGreaterThan(0);

    // Every file byte-identical.
    const differing: number[] = [];
    for (let i = 0; i < COUNT; i++) if (!(await readFile(join(folder, 'files', `${i}.bin`))).equals(bodies[i] as Buffer)) differing.push(i);
    expect(differing).toEqual([]);
    expect((await readdir(join(folder, 'files'))).filter((n) => n.includes('nectar-part'))).toEqual([]);

    // From the server's own log: no file's bytes were sent more than twice.
    const total = bodies.reduce((sum, b) => sum + b.length, 0);
    const sentTotal = sent.reduce((sum, n) => sum + n, 0);
    const overfetched = bodies.flatMap((body, i) => ((sent[i] ?? 0) > 2 * body.length ? [`file ${i}: ${sent[i]} bytes sent for ${body.length}`] : []));
    expect(overfetched).toEqual([]);
    // Resumes went by Range (206), and no finished file was sent whole a second time.
    // Each kill left a large part file that the next run continued.
    expect(answers.filter((a) => a.status === 206).length).toBeGreaterThanOrEqual(3);
    const whole = new Map<number, number>();
    for (const a of answers) if (a.status === 200) whole.set(a.file, (whole.get(a.file) ?? 0) + 1);
    const lastRun = answers.slice(killedAnswers);
    expect(lastRun.filter((a) => a.status === 304).length).toBe(outcomes.get('unchanged'));
    console.log(`resume run: ${(sentTotal / 1024 / 1024).toFixed(1)} MiB sent for ${(total / 1024 / 1024).toFixed(1)} MiB of files; ${answers.filter((a) => a.status === 206).length} resumes; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; files sent whole twice: ${[...whole.values()].filter((n) => n > 1).length}`);
  }, 400_000);

  it.each([0, 2])('a segmented download (threads: %i) killed with SIGKILL is not resumed from its out-of-order part file: the next run fetches a byte-identical file', async (threads) => {
    splitLog.length = 0;
    firstHalfSent = 0;
    trickle = true;
    const destination = join(folder, `split-${threads}.bin`);
    const state = join(folder, `split-${threads}.db`);
    const child = spawn(process.execPath, [segmentedScript, `${origin}/split`, destination, state, '2', String(threads)], { stdio: ['ignore', 'pipe', 'inherit'] });
    // Killed once the second segment is all sent and the first one has begun: the part file then
    // ends with the second half while most of the first is still missing.
    const part = join(folder, `.split-${threads}.bin.nectar-part`);
    const partSize = () => stat(part).then((s) => s.size, () => 0);
    const exited = once(child, 'exit');
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    while (!gone && ((await partSize()) < SPLIT.length || firstHalfSent < 256 * 1024)) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(gone, 'the first run ended before it was killed').toBe(false);
    child.kill('SIGKILL');
    await exited;
    expect(splitLog).toEqual(['whole', `bytes=${SPLIT.length / 2}-${SPLIT.length - 1}`]);
    // The part file is as long as the file, but its first half has holes: a resume from its size would finish a spliced file.
    expect(await partSize()).toBe(SPLIT.length);
    expect(firstHalfSent).toBeLessThan(SPLIT.length / 2);

    trickle = false;
    const rerun = spawn(process.execPath, [segmentedScript, `${origin}/split`, destination, state, '1', String(threads)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    rerun.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const [code] = (await once(rerun, 'exit')) as [number];
    expect(code).toBe(0);
    expect(out.trim()).toBe('succeeded downloaded');
    expect((await readFile(destination)).equals(SPLIT)).toBe(true);
    // The rerun asked for the whole file: nothing vouched for the killed run's part file.
    expect(splitLog.slice(2)).toEqual(['whole']);
    expect((await readdir(folder)).filter((n) => n.startsWith(`.split-${threads}.bin`))).toEqual([]);
  }, 60_000);
});
