// A child process watched from outside while it runs: its resident memory sampled from /proc
// and the lines it prints counted, then stopped at a deadline if it has not ended by itself.
// GNU time only reports the peak at exit; a timeline says whether memory grows with the work.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

const SAMPLE_MS = 500;
const KILL_AFTER_MS = 10_000;
const STDERR_KEEP = 4000;

/**
 * Runs `program args` for at most `seconds` and resolves with `{ code, signal, stoppedAtDeadline,
 * seconds, lines, samples: [{ seconds, lines, rssKiB }], peakRssKiB, stderr }`. Only stdout's line
 * count is kept, so a child printing a million lines costs the harness nothing.
 */
export function sampleRun({ program, args }, seconds) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const started = performance.now();
    const elapsed = () => (performance.now() - started) / 1000;
    const state = { lines: 0, samples: [], peakRssKiB: null, stderr: '', stoppedAtDeadline: false };
    child.stdout.on('data', (chunk) => (state.lines += countNewlines(chunk)));
    child.stderr.setEncoding('utf8').on('data', (d) => (state.stderr = (state.stderr + d).slice(-STDERR_KEEP)));
    const sampler = setInterval(() => sample(child.pid, state, elapsed()), SAMPLE_MS);
    const deadline = setTimeout(() => stop(child, state), seconds * 1000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(deadline);
      resolve({ code, signal, seconds: elapsed(), ...state });
    });
  });
}

/** SIGTERM as a user's `kill` would send; SIGKILL if the child has not ended 10 s later. */
function stop(child, state) {
  state.stoppedAtDeadline = true;
  child.kill('SIGTERM');
  setTimeout(() => child.kill('SIGKILL'), KILL_AFTER_MS).unref();
}

async function sample(pid, state, seconds) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => null);
  if (status === null) return; // ended between two samples
  const rssKiB = field(status, 'VmRSS');
  // VmHWM is the kernel's own peak: it also catches a spike between two samples.
  state.peakRssKiB = Math.max(state.peakRssKiB ?? 0, field(status, 'VmHWM') ?? 0);
  if (rssKiB !== null) state.samples.push({ seconds, lines: state.lines, rssKiB });
}

function field(status, name) {
  const match = status.match(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm'));
  return match === null ? null : Number(match[1]);
}

function countNewlines(chunk) {
  let count = 0;
  for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) count += 1;
  return count;
}
