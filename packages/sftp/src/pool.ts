import { NectarError } from '@nectar/core';
import type { SftpConnection } from './connection.js';

export interface PoolOptions {
  /** Connections kept per key (host, port, user, password). */
  readonly connectionsPerHost: number;
  /** Milliseconds an unused connection lives; 0 keeps it until close(). */
  readonly idleTimeout: number;
}

/** A connection lent to one transfer; give it back with release(). */
export interface Lease {
  readonly connection: SftpConnection;
  release(): void;
}

interface Slot {
  readonly key: string;
  readonly connecting: Promise<SftpConnection>;
  connection: SftpConnection | undefined;
  /** Transfers using (or waiting for) this connection. */
  active: number;
  idle: NodeJS.Timeout | undefined;
}

/**
 * SSH connections shared by transfers to the same host and user. A new connection opens only
 * when every open one is busy and the host has fewer than `connectionsPerHost`; otherwise the
 * least busy one takes another transfer, each on its own SFTP file handle.
 */
export class ConnectionPool {
  readonly #options: PoolOptions;
  readonly #slots = new Map<string, Slot[]>();
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** A connection for `key`, opened with `open` when one is needed. Honours `signal` while waiting. */
  async lease(key: string, open: () => Promise<SftpConnection>, signal: AbortSignal): Promise<Lease> {
    if (this.#closed) throw new NectarError('NECTAR_CLOSED', 'SftpDownloader is closed');
    const slot = this.#pick(key, open);
    slot.active++;
    clearTimeout(slot.idle);
    const release = () => this.#release(slot);
    try {
      const connection = await abortable(slot.connecting, signal);
      return { connection, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  /** Ends every connection, open or opening; the pool refuses new leases afterwards. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = [...this.#slots.values()].flat();
    this.#slots.clear();
    await Promise.all(slots.map((slot) => this.#end(slot)));
  }

  /**
   * The least busy connection that is ready (one still connecting only when none is), so that
   * no transfer waits for a handshake while another connection could take it. When even that
   * one is busy and the host has room, another connection opens for the transfers to come.
   */
  #pick(key: string, open: () => Promise<SftpConnection>): Slot {
    const slots = this.#slots.get(key) ?? [];
    const ready = slots.filter((slot) => slot.connection !== undefined);
    const best = leastActive(ready.length > 0 ? ready : slots);
    if (best === undefined) return this.#add(key, open);
    if (best.active > 0 && slots.length < this.#options.connectionsPerHost) this.#add(key, open);
    return best;
  }

  #add(key: string, open: () => Promise<SftpConnection>): Slot {
    const slot: Slot = { key, connecting: open(), connection: undefined, active: 0, idle: undefined };
    const slots = this.#slots.get(key) ?? [];
    slots.push(slot);
    this.#slots.set(key, slots);
    slot.connecting.then(
      (connection) => {
        slot.connection = connection;
        connection.lostSignal.addEventListener('abort', () => this.#drop(slot), { once: true });
        if (this.#closed) void connection.end();
        else if (slot.active === 0) this.#idleLater(slot);
      },
      // A failed connect is reported to every transfer waiting for it, then forgotten.
      () => this.#drop(slot),
    );
    return slot;
  }

  #release(slot: Slot): void {
    slot.active--;
    if (slot.active === 0 && slot.connection !== undefined) this.#idleLater(slot);
  }

  /** Closes a connection nobody used for idleTimeout; a new lease cancels the timer. */
  #idleLater(slot: Slot): void {
    if (this.#options.idleTimeout === 0 || !this.#slots.get(slot.key)?.includes(slot)) return;
    slot.idle = setTimeout(() => {
      this.#drop(slot);
      void this.#end(slot);
    }, this.#options.idleTimeout);
    // The timer only tidies up; the socket itself decides whether the process stays alive.
    slot.idle.unref();
  }

  #drop(slot: Slot): void {
    clearTimeout(slot.idle);
    const slots = this.#slots.get(slot.key);
    if (slots === undefined) return;
    const rest = slots.filter((s) => s !== slot);
    if (rest.length > 0) this.#slots.set(slot.key, rest);
    else this.#slots.delete(slot.key);
  }

  async #end(slot: Slot): Promise<void> {
    clearTimeout(slot.idle);
    const connection = await slot.connecting.catch(() => undefined);
    await connection?.end();
  }
}

function leastActive(slots: readonly Slot[]): Slot | undefined {
  let best: Slot | undefined;
  for (const slot of slots) if (best === undefined || slot.active < best.active) best = slot;
  return best;
}

/** `promise`, unless `signal` aborts first (the promise still settles, unobserved). */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
