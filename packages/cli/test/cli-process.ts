import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The built CLI: end-to-end tests run exactly what users run, the `nectar` command's shim and the bundle it loads. */
export const BIN = fileURLToPath(new URL('../bin/nectar.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  /** Added to (or, when undefined, removed from) the environment. */
  env?: Record<string, string | undefined>;
}

/** Spawns `node dist/bin.js …args` and waits for it to exit. */
export async function runCli(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const child = startCli(args, options);
  if (options.input !== undefined) child.process.stdin?.end(options.input);
  else child.process.stdin?.end();
  return child.done;
}

export interface RunningCli {
  readonly process: ChildProcess;
  readonly done: Promise<CliResult>;
  /** Resolves once stderr matches. */
  waitForStderr(pattern: RegExp): Promise<void>;
}

export function startCli(args: readonly string[], options: RunOptions = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd,
    // No TTY anywhere: the plain-lines display. NO_COLOR and TERM keep any library from colouring.
    env: { ...process.env, NO_COLOR: '1', TERM: 'dumb', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    for (const w of waiters.filter((w) => w.pattern.test(stderr))) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  });
  const done = once(child, 'close').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return {
    process: child,
    done,
    waitForStderr: (pattern) =>
      pattern.test(stderr)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ pattern, resolve });
            void done.then(() => reject(new Error(`exited before stderr matched ${pattern}:\n${stderr}`)));
          }),
  };
}

/** A fresh temporary folder, removed by the returned function. */
export async function tempDir(): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'nectar-cli-test-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
