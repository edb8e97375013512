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
 * │   └── leases          (namespace, id) ─ labels ─ created_at ─ expires_at
 * │       └── lease_resources (namespace, lease, type, id)    type: content | snapshots/<sn> | ingests
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
];
