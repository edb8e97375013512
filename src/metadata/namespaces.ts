import { fail } from '../errors.js';
import { type Db, type Labels, parseLabels, read, validateLabels, write } from './db.js';

const NAME = /^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$/;

/** containerd's namespace rule: `[A-Za-z0-9]+([._-][A-Za-z0-9]+)*`, at most 76 characters. */
export function validateNamespace(name: string): string {
  if (name.length === 0 || name.length > 76 || !NAME.test(name)) {
    throw fail(
      'InvalidArgument',
      `namespace ${JSON.stringify(name.slice(0, 100))}: invalid name (letters and digits, separated by one of . _ -, at most 76)`,
    );
  }
  return name;
}

export interface Namespace {
  readonly name: string;
  readonly labels: Labels;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NamespaceStore {
  list(): Namespace[];
  /** @throws NotFound */
  get(name: string): Namespace;
  /** @throws AlreadyExists, InvalidArgument */
  create(name: string, labels?: Labels): Namespace;
  /** Replaces the namespace's labels. @throws NotFound */
  setLabels(name: string, labels: Labels): Namespace;
  /** @throws NotFound; FailedPrecondition when the namespace still holds anything */
  remove(name: string): void;
}

interface Row {
  name: string;
  labels: string;
  created_at: number;
  updated_at: number;
}

const toNamespace = (r: Row): Namespace => ({
  name: r.name,
  labels: parseLabels(r.labels),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

/** Tables whose rows belong to a namespace; a namespace holding any of them is not empty. */
const OWNED = ['images', 'content', 'ingests', 'leases'] as const;
const extraOwned: string[] = [];

/** Lets later migrations (snapshots, ...) add tables that keep a namespace non-empty. */
export function registerNamespacedTable(table: string): void {
  if (!extraOwned.includes(table)) extraOwned.push(table);
}

/** Creates the namespace row when missing (containerd creates namespaces on first use). */
export function ensureNamespace(db: Db, name: string): void {
  validateNamespace(name);
  const now = Date.now();
  db.prepare(
    'INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING',
  ).run(name, '{}', now, now);
}

export function namespaceStore(db: Db): NamespaceStore {
  const get = (name: string): Namespace => {
    const row = db.prepare('SELECT * FROM namespaces WHERE name = ?').get(name) as Row | undefined;
    if (!row) throw fail('NotFound', `namespace ${name}: not found`);
    return toNamespace(row);
  };
  return {
    get,
    list: () =>
      (db.prepare('SELECT * FROM namespaces ORDER BY name').all() as Row[]).map(toNamespace),
    create(name, labels = {}) {
      validateNamespace(name);
      validateLabels(labels);
      return write(db, () => {
        const now = Date.now();
        const result = db
          .prepare(
            'INSERT INTO namespaces (name, labels, created_at, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT(name) DO NOTHING',
          )
          .run(name, JSON.stringify(labels), now, now);
        if (result.changes === 0) throw fail('AlreadyExists', `namespace ${name}: already exists`);
        return get(name);
      });
    },
    setLabels(name, labels) {
      validateLabels(labels);
      return write(db, () => {
        const result = db
          .prepare('UPDATE namespaces SET labels = ?, updated_at = ? WHERE name = ?')
          .run(JSON.stringify(labels), Date.now(), name);
        if (result.changes === 0) throw fail('NotFound', `namespace ${name}: not found`);
        return get(name);
      });
    },
    remove(name) {
      write(db, () => {
        get(name);
        for (const table of [...OWNED, ...extraOwned]) {
          const held = db.prepare(`SELECT 1 FROM ${table} WHERE namespace = ? LIMIT 1`).get(name);
          if (held) {
            throw fail(
              'FailedPrecondition',
              `namespace ${name}: not empty (it still has ${table})`,
            );
          }
        }
        db.prepare('DELETE FROM namespaces WHERE name = ?').run(name);
      });
    },
  };
}

export { read };
