import Database from 'better-sqlite3';
import { errno, fail, fromSystem } from '../errors.js';
import { MIGRATIONS, type Migration } from './migrations.js';

export type Db = Database.Database;

/**
 * Opens (creating if needed) the SQLite database at `path`: WAL journal so readers never
 * block the writer, foreign keys on, a busy timeout so processes sharing a root wait for
 * each other's short transactions, then runs pending migrations.
 */
export function openDatabase(path: string, options: { readonly?: boolean } = {}): Db {
  const db = new Database(path, { readonly: options.readonly ?? false, timeout: 10_000 });
  db.pragma('foreign_keys = ON');
  if (!options.readonly) {
    // Switching a new database to WAL takes an exclusive lock without always waiting on
    // the busy handler, so two processes opening a fresh root at once must retry here.
    retryBusy(() => db.pragma('journal_mode = WAL'));
    db.pragma('synchronous = FULL');
    migrate(db, MIGRATIONS);
  }
  return db;
}

/** Applies the migrations newer than the database's version, each in its own transaction. */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(
    'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT',
  );
  const applied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?');
  const record = db.prepare('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)');
  for (const m of migrations) {
    // Checked again inside the write transaction: another process may have just applied it.
    write(db, () => {
      if (applied.get(m.version)) return;
      db.exec(m.sql);
      record.run(m.version, Date.now());
    });
  }
}

/** Rejects callbacks that return a promise: nothing may await inside a transaction. */
type Sync<T> = T extends PromiseLike<unknown> ? never : T;

/**
 * Runs `fn` in a write transaction (BEGIN IMMEDIATE, so two writers queue on the busy
 * timeout instead of failing on a lock upgrade). Busy errors past the timeout are retried;
 * a full disk (SQLITE_FULL) is ResourceExhausted naming the database file.
 */
export function write<T>(db: Db, fn: () => Sync<T>): T {
  const tx = db.transaction(fn);
  try {
    return retryBusy(() => tx.immediate());
  } catch (err) {
    if (errno(err) === 'SQLITE_FULL') throw fromSystem(err, `metadata database ${db.name}`);
    throw err;
  }
}

/**
 * Runs `fn`, retrying while SQLite reports the database busy or locked (after its own
 * busy timeout), with a short synchronous backoff; gives up after about 30 s.
 */
function retryBusy<T>(fn: () => T): T {
  for (let attempt = 0; ; attempt++) {
    try {
      return fn();
    } catch (err) {
      if (!isBusy(err) || attempt >= 300) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 + Math.random() * 90);
    }
  }
}

/** Runs `fn` in a read transaction: one consistent snapshot of the database. */
export function read<T>(db: Db, fn: () => Sync<T>): T {
  return db.transaction(fn).deferred();
}

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_BUSY_SNAPSHOT' || code === 'SQLITE_LOCKED';
}

export type Labels = Readonly<Record<string, string>>;

export function parseLabels(json: string): Record<string, string> {
  return JSON.parse(json) as Record<string, string>;
}

/** containerd's limits: a label key and value together at most 4096 bytes. */
export function validateLabels(labels: Labels): void {
  for (const [key, value] of Object.entries(labels)) {
    if (key.length === 0) throw fail('InvalidArgument', 'label: empty key');
    if (Buffer.byteLength(key) + Buffer.byteLength(value) > 4096) {
      throw fail('InvalidArgument', `label ${key.slice(0, 64)}: key and value exceed 4096 bytes`);
    }
  }
}
