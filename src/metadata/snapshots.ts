import { fail } from '../errors.js';
import { type Db, type Labels, parseLabels, read, validateLabels, write } from './db.js';
import { holdResource } from './leases.js';
import { ensureNamespace, registerNamespacedTable } from './namespaces.js';

// A namespace holding snapshot rows is not empty (migration 2 adds the table).
registerNamespacedTable('snapshots');

export type SnapshotKind = 'active' | 'view' | 'committed';

/** One row of `snapshots`: a snapshot as the metadata knows it (the files live in `<id>`). */
export interface SnapshotRecord {
  /** The key of an active or view snapshot, the name of a committed one. */
  readonly key: string;
  /** The snapshot's directory name under `<root>/snapshots/<snapshotter>/`. */
  readonly id: string;
  readonly kind: SnapshotKind;
  readonly parent?: string;
  readonly labels: Labels;
  /** Cached usage of a committed snapshot, once computed. */
  readonly usage?: { readonly size: number; readonly inodes: number };
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface NewSnapshotRecord {
  readonly key: string;
  readonly id: string;
  readonly kind: 'active' | 'view';
  readonly parent?: string;
  readonly labels?: Labels;
}

/**
 * The snapshot rows of one namespace and one snapshotter. Every method is one short
 * synchronous transaction; callers do file work before or after, never inside.
 */
export interface SnapshotRecords {
  /** @throws NotFound */
  get(key: string): SnapshotRecord;
  /** The row and the ids of its ancestors, nearest parent first. @throws NotFound */
  chain(key: string): { readonly record: SnapshotRecord; readonly parentIds: readonly string[] };
  /** Every row of this namespace and snapshotter, ordered by key. */
  list(): SnapshotRecord[];
  /**
   * Inserts an active or view row.
   * @throws AlreadyExists when the key is taken; NotFound when the parent is missing;
   * InvalidArgument when the parent is not committed.
   */
  create(record: NewSnapshotRecord): SnapshotRecord;
  /**
   * Turns the active row `key` into the committed `name`; with `parent`, also sets its
   * parent (a rebase: the active snapshot must have none and `parent` must be committed).
   */
  commit(name: string, key: string, labels: Labels, parent?: string): SnapshotRecord;
  /** Deletes the row. @throws NotFound; FailedPrecondition when it has children. */
  remove(key: string): SnapshotRecord;
  /** Rewrites the labels with `change(current)`, stamping updated_at. @throws NotFound */
  updateLabels(key: string, change: (current: Labels) => Labels): SnapshotRecord;
  /** Caches the usage of a committed snapshot (ignored when the row changed meanwhile). */
  cacheUsage(key: string, id: string, usage: { size: number; inodes: number }): void;
  /** True when some row of this snapshotter, in any namespace, owns directory `id`. */
  hasId(id: string): boolean;
  /** The ids of every row of this snapshotter, in every namespace. */
  ids(): Set<string>;
}

interface Row {
  key: string;
  id: string;
  kind: SnapshotKind;
  parent: string | null;
  labels: string;
  size: number | null;
  inodes: number | null;
  created_at: number;
  updated_at: number;
}

function toRecord(r: Row): SnapshotRecord {
  return {
    key: r.key,
    id: r.id,
    kind: r.kind,
    ...(r.parent === null ? {} : { parent: r.parent }),
    labels: parseLabels(r.labels),
    ...(r.size === null || r.inodes === null ? {} : { usage: { size: r.size, inodes: r.inodes } }),
    createdAt: new Date(r.created_at),
    updatedAt: new Date(r.updated_at),
  };
}

/** containerd accepts any non-empty key; strata caps it so a key stays a sane row. */
export function validateSnapshotKey(key: string, what = 'snapshot key'): string {
  if (key.length === 0) throw fail('InvalidArgument', `${what}: empty`);
  if (Buffer.byteLength(key) > 4096 || key.includes('\0')) {
    throw fail('InvalidArgument', `${what} ${JSON.stringify(key.slice(0, 64))}: invalid`);
  }
  return key;
}

/**
 * With `lease`, every snapshot created or committed is recorded under that lease in the
 * same transaction, so garbage collection never sees it unheld.
 */
export function snapshotRecords(
  db: Db,
  namespace: string,
  snapshotter: string,
  options: { readonly lease?: string } = {},
): SnapshotRecords {
  const hold = (key: string) => {
    if (options.lease !== undefined) {
      holdResource(db, namespace, options.lease, { type: `snapshots/${snapshotter}`, id: key });
    }
  };
  const select = db.prepare(
    'SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?',
  );
  const find = (key: string) => select.get(namespace, snapshotter, key) as Row | undefined;
  const get = (key: string): SnapshotRecord => {
    const row = find(key);
    if (!row) throw fail('NotFound', `snapshot ${key}: not found`);
    return toRecord(row);
  };
  const ancestors = db.prepare(
    `WITH RECURSIVE chain(key, id, parent, depth) AS (
       SELECT key, id, parent, 0 FROM snapshots WHERE namespace = @ns AND snapshotter = @sn AND key = @key
       UNION ALL
       SELECT s.key, s.id, s.parent, c.depth + 1 FROM snapshots s JOIN chain c
         ON s.namespace = @ns AND s.snapshotter = @sn AND s.key = c.parent
     ) SELECT id FROM chain WHERE depth > 0 ORDER BY depth`,
  );
  const hasChild = db.prepare(
    'SELECT 1 FROM snapshots WHERE namespace = ? AND snapshotter = ? AND parent = ? LIMIT 1',
  );

  return {
    get: (key) => get(key),
    chain: (key) =>
      read(db, () => ({
        record: get(key),
        parentIds: ancestors.pluck().all({ ns: namespace, sn: snapshotter, key }) as string[],
      })),
    list: () =>
      (
        db
          .prepare('SELECT * FROM snapshots WHERE namespace = ? AND snapshotter = ? ORDER BY key')
          .all(namespace, snapshotter) as Row[]
      ).map(toRecord),
    create(record) {
      validateSnapshotKey(record.key);
      validateLabels(record.labels ?? {});
      return write(db, () => {
        ensureNamespace(db, namespace);
        if (find(record.key)) throw fail('AlreadyExists', `snapshot ${record.key}: already exists`);
        if (record.parent !== undefined) {
          const parent = find(record.parent);
          if (!parent) throw fail('NotFound', `snapshot ${record.parent}: parent not found`);
          if (parent.kind !== 'committed') {
            throw fail(
              'InvalidArgument',
              `snapshot ${record.parent}: parent is ${parent.kind}, not committed`,
            );
          }
        }
        const now = Date.now();
        hold(record.key);
        db.prepare(
          `INSERT INTO snapshots (namespace, snapshotter, key, id, kind, parent, labels, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          namespace,
          snapshotter,
          record.key,
          record.id,
          record.kind,
          record.parent ?? null,
          JSON.stringify(record.labels ?? {}),
          now,
          now,
        );
        return get(record.key);
      });
    },
    commit(name, key, labels, parent) {
      validateSnapshotKey(name, 'snapshot name');
      validateLabels(labels);
      return write(db, () => {
        const active = get(key);
        if (active.kind !== 'active') {
          throw fail(
            'FailedPrecondition',
            `snapshot ${key}: is ${active.kind}, only active snapshots commit`,
          );
        }
        if (find(name)) throw fail('AlreadyExists', `snapshot ${name}: already exists`);
        if (parent !== undefined) {
          if (active.parent !== undefined) {
            throw fail(
              'FailedPrecondition',
              `snapshot ${key}: has a parent already, cannot rebase`,
            );
          }
          if (get(parent).kind !== 'committed') {
            throw fail('InvalidArgument', `snapshot ${parent}: rebase parent is not committed`);
          }
        }
        const now = Date.now();
        hold(name);
        db.prepare(
          `UPDATE snapshots SET key = ?, kind = 'committed', labels = ?, parent = coalesce(?, parent),
             created_at = ?, updated_at = ?
           WHERE namespace = ? AND snapshotter = ? AND key = ?`,
        ).run(name, JSON.stringify(labels), parent ?? null, now, now, namespace, snapshotter, key);
        return get(name);
      });
    },
    remove(key) {
      return write(db, () => {
        const record = get(key);
        if (hasChild.get(namespace, snapshotter, key)) {
          throw fail('FailedPrecondition', `snapshot ${key}: cannot remove: it has children`);
        }
        db.prepare('DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?').run(
          namespace,
          snapshotter,
          key,
        );
        return record;
      });
    },
    updateLabels(key, change) {
      return write(db, () => {
        const labels = change(get(key).labels);
        validateLabels(labels);
        db.prepare(
          'UPDATE snapshots SET labels = ?, updated_at = ? WHERE namespace = ? AND snapshotter = ? AND key = ?',
        ).run(JSON.stringify(labels), Date.now(), namespace, snapshotter, key);
        return get(key);
      });
    },
    cacheUsage(key, id, usage) {
      write(db, () => {
        db.prepare(
          `UPDATE snapshots SET size = ?, inodes = ?
           WHERE namespace = ? AND snapshotter = ? AND key = ? AND id = ? AND kind = 'committed'`,
        ).run(usage.size, usage.inodes, namespace, snapshotter, key, id);
      });
    },
    hasId: (id) =>
      db
        .prepare('SELECT 1 FROM snapshots WHERE snapshotter = ? AND id = ?')
        .get(snapshotter, id) !== undefined,
    ids: () =>
      new Set(
        db
          .prepare('SELECT id FROM snapshots WHERE snapshotter = ?')
          .pluck()
          .all(snapshotter) as string[],
      ),
  };
}
