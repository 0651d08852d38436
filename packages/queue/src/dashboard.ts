import { once } from 'node:events';
import { createServer, type RequestListener } from 'node:http';
import type { Queue } from 'bullmq';
import type { RedisConnection } from './connection.js';
import { QueueAdmin } from './queue-admin.js';

export interface DashboardOptions {
  redis: RedisConnection;
  cluster?: string;
  prefix?: string;
  /** On 127.0.0.1 (default 3000; 0 picks a free port). */
  port?: number;
  /** How often host queues that appeared since are added (default 5000 ms). */
  refreshInterval?: number;
}

export interface Dashboard {
  readonly url: string;
  /** Settles when the dashboard is closed (SIGINT/SIGTERM from the CLI, or close()). */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

interface BullBoardModules {
  createBullBoard(options: { queues: unknown[]; serverAdapter: unknown }): { replaceQueues(queues: unknown[]): void };
  BullMQAdapter: new (queue: Queue) => unknown;
  ExpressAdapter: new () => { setBasePath(path: string): unknown; getRouter(): RequestListener };
}

/**
 * bull-board (the maintained BullMQ UI) over every host queue of the farm, on loopback only: it
 * can retry, remove and promote jobs, so it is not for the open network. Its packages are
 * optional and loaded here, on first use.
 */
export async function serveDashboard(options: DashboardOptions): Promise<Dashboard> {
  const board = await loadBullBoard();
  const admin = new QueueAdmin(options);
  const adapter = new board.ExpressAdapter();
  adapter.setBasePath('/');
  const adapters = async () => (await admin.queueNames()).map((name) => new board.BullMQAdapter(admin.queue(name)));
  const { replaceQueues } = board.createBullBoard({ queues: await adapters(), serverAdapter: adapter });
  const refresh = setInterval(() => void adapters().then(replaceQueues, () => {}), options.refreshInterval ?? 5000);
  const server = createServer(adapter.getRouter());
  server.listen(options.port ?? 3000, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  let close!: () => Promise<void>;
  const closed = new Promise<void>((resolve) => {
    close = async () => {
      clearInterval(refresh);
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
      await admin.close();
      resolve();
    };
  });
  return { url: `http://127.0.0.1:${port}/`, closed, close };
}

async function loadBullBoard(): Promise<BullBoardModules> {
  try {
    const [api, mq, express] = await Promise.all([import('@bull-board/api'), import('@bull-board/api/bullMQAdapter'), import('@bull-board/express')]);
    return { createBullBoard: api.createBullBoard, BullMQAdapter: mq.BullMQAdapter, ExpressAdapter: express.ExpressAdapter } as unknown as BullBoardModules;
  } catch (error) {
    throw new Error(`nectar queue dashboard needs bull-board: npm install @bull-board/api @bull-board/express (${(error as Error).message})`);
  }
}
