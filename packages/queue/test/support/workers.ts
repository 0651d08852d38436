import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A `nectar-worker` child process, as an operator would run it. */
export interface WorkerProcess {
  readonly id: string;
  readonly child: ChildProcess;
  readonly swept: string[];
  readonly metricsPort: number | null;
  readonly output: () => string;
  signal(signal: NodeJS.Signals): void;
  stop(): Promise<void>;
}

/** Fast timings: tests kill and freeze workers and must not wait BullMQ's production defaults. */
export const fastWorker = ['--lock-duration', '2', '--stalled-interval', '0.5', '--discovery-interval', '0.1', '--heartbeat-interval', '0.3', '--progress-interval', '0.1'];

export async function startWorker(redisUrl: string, cluster: string, id: string, extra: string[] = []): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [cli, '--redis', redisUrl, '--cluster', cluster, '--id', id, ...fastWorker, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  const ready = await new Promise<{ id: string; swept: string[]; metricsPort: number | null }>((resolve, reject) => {
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
    metricsPort: ready.metricsPort,
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

const producerScript = fileURLToPath(new URL('./producer-child.mjs', import.meta.url));

export interface ProducerPlan {
  redis: string;
  cluster: string;
  urls: string[];
  destinations: string[];
  options?: Record<string, unknown>;
  cancelAfterSettled?: number;
  cancelAfterMs?: number;
  /** Exit (as Ctrl-C does) this long after cancel, without close(). */
  exitAfterCancelMs?: number;
}

/** Runs a producer child process to its end; resolves with its event lines and when it exited. */
export async function runProducerProcess(plan: ProducerPlan, timeoutMs = 60_000): Promise<{ events: Record<string, unknown>[]; exitedAt: number; code: number | null }> {
  const child = spawn(process.execPath, [producerScript, JSON.stringify(plan)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  const events = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
  if (err.trim() !== '' && code !== 0 && code !== 130) throw new Error(`producer exited with ${code}: ${err}`);
  return { events, exitedAt: Date.now(), code };
}
