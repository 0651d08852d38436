// One run of a command as a child process: wall time, peak RSS and CPU seconds.
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { findProgram } from './tools.mjs';

const GNU_TIME = '/usr/bin/time';
const STDERR_KEEP = 4000;

/** Whether peak RSS and CPU can be measured (GNU time installed), else only wall time. */
export const gnuTime = findProgram(GNU_TIME);

/**
 * Runs `program args` (feeding `input` on stdin) and resolves with
 * `{ ok, wallSeconds, peakRssKiB, cpuSeconds, stdout, error }`. Wall time is taken here with a
 * monotonic clock (GNU time's %e has 10 ms steps); RSS is the largest single process of the
 * tree (the kernel's rusage keeps a maximum, not a sum) and CPU is user + system of them all.
 */
export async function measure({ program, args, input = '', env }, scratchDir) {
  const timeFile = join(scratchDir, `time-${process.pid}-${Date.now()}.txt`);
  const [file, argv] = gnuTime === null ? [program, args] : [gnuTime, ['-f', '%e %M %U %S', '-o', timeFile, program, ...args]];
  const started = performance.now();
  const { code, signal, stdout, stderr } = await runChild(file, argv, input, env);
  const wallSeconds = (performance.now() - started) / 1000;
  const usage = gnuTime === null ? null : await readUsage(timeFile);
  const ok = code === 0;
  return {
    ok,
    wallSeconds,
    peakRssKiB: usage?.peakRssKiB ?? null,
    cpuSeconds: usage?.cpuSeconds ?? null,
    stdout,
    error: ok ? null : `${program} exited ${signal ?? code}: ${errorSummary(stderr)}`,
    stderr: ok ? null : stderr,
  };
}

function runChild(file, argv, input, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    // Keep only the tail: a tool that logs per file would otherwise fill memory.
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr = (stderr + d).slice(-STDERR_KEEP)));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => {}); // a tool that exits without reading stdin is not our failure
    child.stdin.end(input);
  });
}

/** The line of a tool's stderr that says what went wrong (its first error line, else its last). */
function errorSummary(stderr) {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.find((l) => /error|fail|denied|refused|forbidden|not found|expected/i.test(l)) ?? lines.at(-1) ?? '(no output)';
}

async function readUsage(timeFile) {
  const text = await readFile(timeFile, 'utf8').catch(() => '');
  await rm(timeFile, { force: true });
  // GNU time writes "Command exited with non-zero status N" before the figures on failure.
  const last = text.trim().split('\n').at(-1) ?? '';
  const [, rss, user, system] = last.split(' ').map(Number);
  if (![rss, user, system].every(Number.isFinite)) return null;
  return { peakRssKiB: rss, cpuSeconds: user + system };
}
