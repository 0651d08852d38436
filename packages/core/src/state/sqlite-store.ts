import { renameSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type LibsqlDatabase from 'libsql';
import { NectarError } from '../errors.js';
import type { DownloadOutcome } from '../report.js';
import type { StateRecord, StateStore } from './store.js';

type Database = LibsqlDatabase.Database;
type Statement = LibsqlDatabase.Statement<unknown[]>;

/** A row as SQLite returns it (libsql adds a `_metadata` field, never read). */
interface Row {
  destination: string;
  url: string;
  etag: string | null;
  last_modified: string | null;
  size: number;
  mtime_ns: string;
  digest: string | null;
  outcome: DownloadOutcome;
  updated_at: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS records (
  destination TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  etag TEXT,
  last_modified TEXT,
  size INTEGER NOT NULL,
  mtime_ns TEXT NOT NULL,
  digest TEXT,
  outcome TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_by_digest ON records (digest) WHERE digest IS NOT NULL;
`;

/** SQLite's answers for a file that is not (or no longer) a sound database. */
const damaged = new Set(['SQLITE_NOTADB', 'SQLITE_CORRUPT']);

/**
 * The embedded state store: one SQLite file (through libsql, whose binary comes inside an npm
 * package). SQLite gives what the store must promise: records on disk behind a B-tree, so memory
 * stays flat at millions of them; a write-ahead log, so a kill -9 at any instant leaves the last
 * committed state; file locks, so processes on one machine share it (readers never wait, a writer
 * waits up to `busyTimeout` for another).
 */
export class SqliteStateStore implements StateStore {
  readonly path: string;
  readonly #busyTimeout: number;
  readonly #Database: typeof LibsqlDatabase;
  #db!: Database;
  #get!: Statement;
  #put!: Statement;
  #delete!: Statement;
  #withDigest!: Statement;

  private constructor(path: string, Database: typeof LibsqlDatabase, busyTimeout: number) {
    this.path = path;
    this.#Database = Database;
    this.#busyTimeout = busyTimeout;
  }

  /**
   * Opens (or creates) the store at `path`. A file SQLite cannot read as a database (truncated,
   * overwritten), found now or at any later call, is moved aside to `<path>.corrupt-<time>` and a
   * new store begins: that only costs full requests, where refusing to go on would cost the run.
   */
  static async open(path: string, options: { busyTimeout?: number } = {}): Promise<SqliteStateStore> {
    const file = resolve(path);
    await mkdir(dirname(file), { recursive: true });
    const { default: Database } = await import('libsql');
    const store = new SqliteStateStore(file, Database, options.busyTimeout ?? 10_000);
    try {
      store.#guard(() => store.#connect());
    } catch (error) {
      throw storeError(file, error);
    }
    return store;
  }

  async get(destination: string): Promise<StateRecord | undefined> {
    const row = this.#guard(() => this.#get.get(destination) as Row | undefined);
    return row === undefined ? undefined : fromRow(row);
  }

  async put(record: StateRecord): Promise<void> {
    this.#guard(() => this.#write(record));
  }

  /** Many records in one transaction: one commit instead of one each (a mirror's first run, the bench). */
  async putMany(records: Iterable<StateRecord>): Promise<void> {
    this.#guard(() =>
      this.#db.transaction(() => {
        for (const record of records) this.#write(record);
      })(),
    );
  }

  async delete(destination: string): Promise<void> {
    this.#guard(() => this.#delete.run(destination));
  }

  async withDigest(digest: string, limit: number): Promise<StateRecord[]> {
    return this.#guard(() => this.#withDigest.all(digest, limit) as Row[]).map(fromRow);
  }

  /** How many records the store holds. */
  async count(): Promise<number> {
    return this.#guard(() => (this.#db.prepare('SELECT count(*) AS n FROM records').get() as { n: number }).n);
  }

  /** Folds the write-ahead log into the file (as far as other processes allow), so a closed store is one file. */
  async close(): Promise<void> {
    if (!this.#db.open) return;
    try {
      this.#db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    } finally {
      this.#db.close();
    }
  }

  #write(record: StateRecord): void {
    const { destination, url, etag, lastModified, size, mtimeNs, digest, outcome, updatedAt } = record;
    this.#put.run(destination, url, etag, lastModified, size, mtimeNs, digest, outcome, updatedAt);
  }

  #connect(): void {
    this.#db = prepare(new this.#Database(this.path), this.#busyTimeout);
    this.#get = this.#db.prepare('SELECT * FROM records WHERE destination = ?');
    this.#put = this.#db.prepare('INSERT OR REPLACE INTO records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.#delete = this.#db.prepare('DELETE FROM records WHERE destination = ?');
    this.#withDigest = this.#db.prepare('SELECT * FROM records WHERE digest = ? LIMIT ?');
  }

  /** Runs one call; if SQLite finds the file damaged, moves it aside, begins anew and runs it again. */
  #guard<T>(call: () => T): T {
    try {
      return call();
    } catch (error) {
      if (!damaged.has((error as { code?: string }).code ?? '')) throw error;
      if (this.#db?.open) this.#db.close();
      quarantine(this.path);
      this.#connect();
      return call();
    }
  }
}

/**
 * WAL with synchronous=NORMAL: a commit is atomic and survives the process dying at any instant
 * (kill -9); only a power loss may drop the last commits, never corrupt the file — and a lost
 * record costs a request, not a wrong file. The schema check reads the file's first page, so a
 * damaged file is found here, at open, rather than mid-run.
 */
function prepare(db: Database, busyTimeout: number): Database {
  try {
    db.exec(`PRAGMA busy_timeout = ${Math.trunc(busyTimeout)}`);
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec(schema);
    return db;
  } catch (error) {
    db.close();
    throw error;
  }
}

function quarantine(file: string): void {
  const aside = `${file}.corrupt-${Date.now()}`;
  renameSync(file, aside);
  // The log and index of a damaged file belong to it: a new file must not replay them.
  for (const suffix of ['-wal', '-shm']) {
    try {
      renameSync(file + suffix, aside + suffix);
    } catch {}
  }
  process.emitWarning(`the state store ${file} was damaged; it was moved to ${aside} and a new one begun`, { code: 'NECTAR_STATE_STORE' });
}

function fromRow(row: Row): StateRecord {
  return {
    destination: row.destination,
    url: row.url,
    etag: row.etag,
    lastModified: row.last_modified,
    size: Number(row.size),
    mtimeNs: String(row.mtime_ns),
    digest: row.digest,
    outcome: row.outcome,
    updatedAt: Number(row.updated_at),
  };
}

function storeError(file: string, error: unknown): NectarError {
  return new NectarError('NECTAR_STATE_STORE', `cannot open the state store ${file}: ${(error as Error).message}`, { cause: error, details: { path: file } });
}
