import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A `nectar-worker` child process, as an operator would run it. */
export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly swept: string[];
  readonly output: () => string;
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** Fast timings: tests kill and freeze workers and must not wait BullMQ's production defaults. */
export const fastWorker = ['--lock-duration', '2000', '--stalled-interval', '500', '--discovery-interval', '100', '--heartbeat-interval', '300', '--progress-interval', '100'];

export async function startWorker(redisUrl: string, cluster: string, id: string, extra: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [cli, '--redis', redisUrl, '--cluster', cluster, '--id', id, ...fastWorker, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const ready = await new Promise<{ id: string; swept: string[] }>((resolve, reject) => {
    let line = '';
    child.stdout?.on('data', (c: Buffer) => {
      line += c.toString();
      const end = line.indexOf('\n');
      if (end !== -1) resolve(JSON.parse(line.slice(0, end)));
    });
    child.once('exit', (code) => reject(new Error(`worker ${id} exited with ${code}: ${output}`)));
  });
  return {
    id: ready.id,
    child,
    swept: ready.swept,
    output: () => output,
    signal: (s) => void child.kill(s),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    },
  };
}
