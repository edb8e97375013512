/**
 * The schema of `<root>/meta.db`, as migrations apply it. Every row is namespaced the way
 * containerd's metadata store is; labels are JSON objects.
 *
 * ```
 * meta.db
 * ├── schema_migrations   version ─ applied_at
 * ├── namespaces          name ─ labels ─ created_at ─ updated_at
 * │   ├── images          (namespace, name) ─ target {media_type, digest, size, annotations}
 * │   │                   ─ labels ─ created_at ─ updated_at
 * │   ├── content         (namespace, digest) ─ size ─ labels ─ created_at ─ updated_at
 * │   │                   the bytes live once in content/blobs, shared by namespaces
 * │   ├── ingests         (namespace, ref) ─ expected ─ total ─ created_at ─ expires_at
 * │   ├── leases          (namespace, id) ─ labels ─ created_at ─ expires_at
 * │   │   └── lease_resources (namespace, lease, type, id)    type: content | snapshots/<sn> | ingests
 * │   └── snapshots       (namespace, snapshotter, key) ─ id ─ kind ─ parent ─ labels
 * │       │               ─ size ─ inodes ─ created_at ─ updated_at                       (v2)
 * │       │               id: the directory <root>/snapshots/<snapshotter>/<id>, unique per
 * │       │               snapshotter; kind: active | view | committed; size/inodes cached
 * │       │               once a committed snapshot's usage is first computed
 * │       └── parent ──► snapshots (namespace, snapshotter, key)   a parent with children
 * │                       cannot be deleted (ON DELETE RESTRICT)
 * ```
 *
 * Times are integer milliseconds since the epoch. A migration runs once, in order, inside
 * one transaction; re-running `migrate` on an up-to-date database does nothing.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'namespaces, images, content, ingests, leases',
    sql: `
      CREATE TABLE namespaces (
        name        TEXT PRIMARY KEY,
        labels      TEXT NOT NULL DEFAULT '{}',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      ) STRICT;
      CREATE TABLE images (
        namespace         TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
        name              TEXT NOT NULL,
        media_type        TEXT NOT NULL,
        digest            TEXT NOT NULL,
        size              INTEGER NOT NULL,
        annotations       TEXT NOT NULL DEFAULT '{}',
        labels            TEXT NOT NULL DEFAULT '{}',
        created_at        INTEGER NOT NULL,
        updated_at        INTEGER NOT NULL,
        PRIMARY KEY (namespace, name)
      ) STRICT;
      CREATE TABLE content (
        namespace   TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
        digest      TEXT NOT NULL,
        size        INTEGER NOT NULL,
        labels      TEXT NOT NULL DEFAULT '{}',
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, digest)
      ) STRICT;
      CREATE INDEX content_by_digest ON content(digest);
      CREATE TABLE ingests (
        namespace   TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
        ref         TEXT NOT NULL,
        expected    TEXT,
        total       INTEGER,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        PRIMARY KEY (namespace, ref)
      ) STRICT;
      CREATE TABLE leases (
        namespace   TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
        id          TEXT NOT NULL,
        labels      TEXT NOT NULL DEFAULT '{}',
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER,
        PRIMARY KEY (namespace, id)
      ) STRICT;
      CREATE TABLE lease_resources (
        namespace   TEXT NOT NULL,
        lease       TEXT NOT NULL,
        type        TEXT NOT NULL,
        id          TEXT NOT NULL,
        PRIMARY KEY (namespace, lease, type, id),
        FOREIGN KEY (namespace, lease) REFERENCES leases(namespace, id) ON DELETE CASCADE
      ) STRICT;
    `,
  },
  {
    version: 2,
    description: 'snapshots',
    // `key` holds the key of an active or view snapshot and the name of a committed one: they
    // share one key space (containerd). Commit rewrites key and kind in place; the id (the
    // directory) never changes. Active snapshots are never parents, so no child row points
    // at a key that commit rewrites.
    sql: `
      CREATE TABLE snapshots (
        namespace   TEXT NOT NULL REFERENCES namespaces(name) ON DELETE RESTRICT,
        snapshotter TEXT NOT NULL,
        key         TEXT NOT NULL,
        id          TEXT NOT NULL,
        kind        TEXT NOT NULL CHECK (kind IN ('active', 'view', 'committed')),
        parent      TEXT,
        labels      TEXT NOT NULL DEFAULT '{}',
        size        INTEGER,
        inodes      INTEGER,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (namespace, snapshotter, key),
        UNIQUE (snapshotter, id),
        FOREIGN KEY (namespace, snapshotter, parent)
          REFERENCES snapshots(namespace, snapshotter, key) ON DELETE RESTRICT
      ) STRICT;
      CREATE INDEX snapshots_by_parent ON snapshots(namespace, snapshotter, parent);
    `,
  },
];
