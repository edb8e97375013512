import { type Db, type Labels, parseLabels, read, write } from './db.js';
import type { LeaseResource } from './leases.js';
import type { SnapshotKind } from './snapshots.js';

/**
 * The whole root's records, every namespace at once, for the readers that look at all of
 * them: garbage collection's reference graph and fsck's checks. One read transaction, so
 * the tables are one consistent snapshot (inside a write transaction, that one's view).
 * Rows come in primary-key order.
 */
export interface Inventory {
  readonly images: readonly ImageRow[];
  readonly content: readonly ContentRow[];
  readonly snapshots: readonly SnapshotRow[];
  readonly ingests: readonly IngestRow[];
  /** Every lease, expired or not, with what it holds. */
  readonly leases: readonly LeaseRow[];
}

/** An image record as the inventory sees it: its name and target digest. */
export interface ImageRow {
  readonly namespace: string;
  readonly name: string;
  readonly digest: string;
}

export interface ContentRow {
  readonly namespace: string;
  readonly digest: string;
  readonly size: number;
  readonly labels: Labels;
}

export interface SnapshotRow {
  readonly namespace: string;
  readonly snapshotter: string;
  /** The key of an active or view snapshot, the name of a committed one. */
  readonly key: string;
  /** The directory `<root>/snapshots/<snapshotter>/<id>`. */
  readonly id: string;
  readonly kind: SnapshotKind;
  readonly parent: string | null;
  readonly labels: Labels;
}

export interface IngestRow {
  readonly namespace: string;
  readonly ref: string;
  /** The digest the ingest is expected to become, when the writer said. */
  readonly expected: string | null;
  /** Milliseconds since the epoch; null: never expires. */
  readonly expiresAt: number | null;
}

export interface LeaseRow {
  readonly namespace: string;
  readonly id: string;
  readonly labels: Labels;
  /** Milliseconds since the epoch; null: never expires. */
  readonly expiresAt: number | null;
  readonly resources: readonly LeaseResource[];
}

type Stored<T> = Omit<T, 'labels'> & { labels: string };
type Resource = LeaseResource & { namespace: string; lease: string };

/** Reads every table gc and fsck look at, in one read transaction. */
export function readInventory(db: Db): Inventory {
  return read(db, () => {
    const all = <T>(sql: string) => db.prepare(sql).all() as T[];
    const withLabels = <T>(rows: Stored<T>[]) =>
      rows.map((r) => ({ ...r, labels: parseLabels(r.labels) }) as T);
    const held = new Map<string, LeaseResource[]>();
    for (const { namespace, lease, type, id } of all<Resource>(
      'SELECT namespace, lease, type, id FROM lease_resources ORDER BY namespace, lease, type, id',
    )) {
      const key = `${namespace}\0${lease}`;
      const list = held.get(key);
      if (list) list.push({ type, id });
      else held.set(key, [{ type, id }]);
    }
    const leases = withLabels<Omit<LeaseRow, 'resources'>>(
      all(
        'SELECT namespace, id, labels, expires_at AS expiresAt FROM leases ORDER BY namespace, id',
      ),
    );
    return {
      images: all<ImageRow>('SELECT namespace, name, digest FROM images ORDER BY namespace, name'),
      content: withLabels<ContentRow>(
        all('SELECT namespace, digest, size, labels FROM content ORDER BY namespace, digest'),
      ),
      snapshots: withLabels<SnapshotRow>(
        all(
          `SELECT namespace, snapshotter, key, id, kind, parent, labels FROM snapshots
           ORDER BY namespace, snapshotter, key`,
        ),
      ),
      ingests: listIngests(db),
      leases: leases.map((l) => ({ ...l, resources: held.get(`${l.namespace}\0${l.id}`) ?? [] })),
    };
  });
}

/**
 * Every ingest record, all namespaces (one statement: one snapshot) — what gc's ingest
 * sweep compares the ingest directories with, after its deletions commit.
 */
export function listIngests(db: Db): IngestRow[] {
  return db
    .prepare(
      'SELECT namespace, ref, expected, expires_at AS expiresAt FROM ingests ORDER BY namespace, ref',
    )
    .all() as IngestRow[];
}

/** The keys of records to delete, table by table. */
export interface RecordKeys {
  readonly content?: readonly { readonly namespace: string; readonly digest: string }[];
  /** Children before their parents (a parent with children cannot be deleted). */
  readonly snapshots?: readonly {
    readonly namespace: string;
    readonly snapshotter: string;
    readonly key: string;
  }[];
  readonly ingests?: readonly { readonly namespace: string; readonly ref: string }[];
  /** Their resource lists go with them. */
  readonly leases?: readonly { readonly namespace: string; readonly id: string }[];
}

/**
 * Deletes exactly the records named, in one write transaction (or as part of the caller's,
 * when called inside one: gc marks and deletes in the same transaction). Keys with no row
 * are skipped. Only records: the files are the caller's, after the transaction commits.
 * @throws ResourceExhausted when the disk is full; SQLite's foreign-key error when a snapshot
 * comes before one of its children (a caller's bug: nothing is deleted)
 */
export function deleteRecords(db: Db, keys: RecordKeys): void {
  write(db, () => {
    const content = db.prepare('DELETE FROM content WHERE namespace = ? AND digest = ?');
    for (const c of keys.content ?? []) content.run(c.namespace, c.digest);
    const snapshot = db.prepare(
      'DELETE FROM snapshots WHERE namespace = ? AND snapshotter = ? AND key = ?',
    );
    for (const s of keys.snapshots ?? []) snapshot.run(s.namespace, s.snapshotter, s.key);
    const ingest = db.prepare('DELETE FROM ingests WHERE namespace = ? AND ref = ?');
    for (const i of keys.ingests ?? []) ingest.run(i.namespace, i.ref);
    const lease = db.prepare('DELETE FROM leases WHERE namespace = ? AND id = ?');
    for (const l of keys.leases ?? []) lease.run(l.namespace, l.id);
  });
}
