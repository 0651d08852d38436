import { SqliteStateStore } from './sqlite-store.js';
import type { StateStore } from './store.js';

/**
 * A downloader's state store, opened on first use: a path opens the embedded SQLite store (and
 * the downloader closes it); a store object is the caller's to close.
 */
export class StoreHandle {
  readonly #setting: string | StateStore | undefined;
  #opened: Promise<StateStore | null> | undefined;

  constructor(setting: string | StateStore | undefined) {
    this.#setting = setting;
  }

  get(): Promise<StateStore | null> {
    this.#opened ??= open(this.#setting);
    return this.#opened;
  }

  async close(): Promise<void> {
    if (typeof this.#setting !== 'string' || this.#opened === undefined) return;
    const store = await this.#opened.catch(() => null);
    await store?.close();
  }
}

async function open(setting: string | StateStore | undefined): Promise<StateStore | null> {
  if (setting === undefined) return null;
  return typeof setting === 'string' ? SqliteStateStore.open(setting) : setting;
}
