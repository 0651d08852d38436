import type { Redis } from 'ioredis';

/**
 * Watches one client for a Redis that stays unreachable. ioredis retries for ever (BullMQ needs
 * `maxRetriesPerRequest: null`), so without a bound a producer would wait silently; after
 * `timeoutMs` without a connection `onTimeout` runs once per outage.
 */
export class RedisOutage {
  readonly #client: Redis;
  readonly #timeoutMs: number;
  readonly #onTimeout: (downMs: number) => void;
  readonly #timer: NodeJS.Timeout;
  #downSince: number | null = null;
  #reported = false;
  readonly #down = () => {
    this.#downSince ??= Date.now();
  };
  readonly #up = () => {
    this.#downSince = null;
    this.#reported = false;
  };

  constructor(client: Redis, timeoutMs: number, onTimeout: (downMs: number) => void) {
    this.#client = client;
    this.#timeoutMs = timeoutMs;
    this.#onTimeout = onTimeout;
    client.on('close', this.#down);
    client.on('ready', this.#up);
    this.#timer = setInterval(() => this.#check(), Math.min(1000, timeoutMs));
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#client.off('close', this.#down);
    this.#client.off('ready', this.#up);
  }

  #check(): void {
    if (this.#downSince === null || this.#reported) return;
    const down = Date.now() - this.#downSince;
    if (down < this.#timeoutMs) return;
    this.#reported = true;
    this.#onTimeout(down);
  }
}
