import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The origin of origin-process.mjs: its base URL and the arrival times it printed. */
export interface OriginProcess {
  readonly base: string;
  /** Arrival times in ms (the child's clock) and paths, in order. */
  readonly arrivals: Array<{ at: number; path: string }>;
  /** The most arrivals within any window of `ms`. */
  busiestWindow(ms?: number): number;
  stop(): Promise<void>;
}

export async function startOriginProcess(): Promise<OriginProcess> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(new URL('./origin-process.mjs', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
  const arrivals: Array<{ at: number; path: string }> = [];
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const port = await new Promise<string>((resolve) => {
    lines.on('line', (line) => {
      const [first, second = ''] = line.split(' ');
      if (first === 'port') resolve(second);
      else arrivals.push({ at: Number(first), path: second });
    });
  });
  return {
    base: `http://127.0.0.1:${port}`,
    arrivals,
    busiestWindow(ms = 1000) {
      const times = arrivals.map((a) => a.at);
      let best = 0;
      for (let i = 0, j = 0; i < times.length; i++) {
        while ((times[j] as number) <= (times[i] as number) - ms) j++;
        best = Math.max(best, i - j + 1);
      }
      return best;
    },
    async stop() {
      if (child.exitCode !== null) return;
      const closed = once(lines, 'close');
      child.stdin?.end();
      await Promise.all([once(child, 'exit'), closed]);
    },
  };
}
