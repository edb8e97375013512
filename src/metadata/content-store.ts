import { rmSync, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type {
  BlobStore,
  CallOptions,
  CommitOptions,
  Info,
  Labels,
  ReaderOptions,
  ScopedStatus,
  Status,
  Store,
  Writer,
  WriterOptions,
} from '../content/index.js';
import { fail, isCode, throwIfAborted } from '../errors.js';
import { labelledAdaptor, parseFilters } from '../filters.js';
import { type Digest, parseDigest } from '../oci/index.js';
import { type Db, parseLabels, validateLabels, write } from './db.js';
import { holdResource } from './leases.js';
import { ensureNamespace } from './namespaces.js';

interface Row {
  digest: string;
  size: number;
  labels: string;
  created_at: number;
  updated_at: number;
}

const toInfo = (r: Row): Info => ({
  digest: parseDigest(r.digest),
  size: r.size,
  labels: parseLabels(r.labels),
  createdAt: new Date(r.created_at),
  updatedAt: new Date(r.updated_at),
});

const toUserStatus = ({ scope: _, ...s }: ScopedStatus): Status => s;

/**
 * The content store one namespace sees: the shared blob store filtered and labelled by the
 * namespace's `content` records, with ingests recorded in `ingests`. Blobs already on disk
 * for another namespace are shared (containerd's default "shared" policy): opening a writer
 * for such a digest records it here and gives AlreadyExists without moving a byte.
 *
 * Ingest refs are per namespace: the blob store scopes each ingest by the namespace.
 */
/** How long an ingest is kept by garbage collection after its last writer opened it. */
export const INGEST_EXPIRY_MS = 24 * 3600 * 1000;

export function namespacedContentStore(
  db: Db,
  blobs: BlobStore,
  namespace: string,
  options: { readonly lease?: string } = {},
): Store {
  /** With a lease, what this store records is held by it (same transaction). */
  const hold = (type: 'content' | 'ingests', id: string) => {
    if (options.lease !== undefined) holdResource(db, namespace, options.lease, { type, id });
  };
  const find = (digest: Digest): Info | undefined => {
    const row = db
      .prepare('SELECT * FROM content WHERE namespace = ? AND digest = ?')
      .get(namespace, digest) as Row | undefined;
    return row && toInfo(row);
  };
  const info = async (digest: Digest, options: CallOptions = {}): Promise<Info> => {
    throwIfAborted(options.signal);
    parseDigest(digest);
    const found = find(digest);
    if (!found) throw fail('NotFound', `content ${digest}: not found`);
    return found;
  };
  /** Inserts the record unless present; true when it was already there. */
  const record = (digest: Digest, size: number, labels: Labels): boolean =>
    write(db, () => {
      ensureNamespace(db, namespace);
      const now = Date.now();
      hold('content', digest);
      const result = db
        .prepare(
          `INSERT INTO content (namespace, digest, size, labels, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(namespace, digest) DO NOTHING`,
        )
        .run(namespace, digest, size, JSON.stringify(labels), now, now);
      return result.changes === 0;
    });
  const forgetIngest = (ref: string) =>
    write(db, () => {
      db.prepare('DELETE FROM ingests WHERE namespace = ? AND ref = ?').run(namespace, ref);
    });

  /** Records a blob already on disk in this namespace ("shared" policy). */
  /**
   * Whether `digest` is stored for this namespace: recorded here, or on disk for another
   * namespace and now recorded here too ("shared" policy). Either way the blob is held by
   * this store's lease. One write transaction, the file checked inside it: garbage
   * collection (which deletes blob files inside its own transaction) cannot come between.
   */
  const stored = (digest: Digest, size: number | undefined): boolean =>
    write(db, () => {
      if (find(digest)) {
        hold('content', digest);
        return true;
      }
      const file = statSync(blobs.blobPath(digest), { throwIfNoEntry: false });
      if (!file || (size !== undefined && file.size !== size)) return false;
      ensureNamespace(db, namespace);
      hold('content', digest);
      const now = Date.now();
      db.prepare(
        `INSERT INTO content (namespace, digest, size, labels, created_at, updated_at)
         VALUES (?, ?, ?, '{}', ?, ?) ON CONFLICT(namespace, digest) DO NOTHING`,
      ).run(namespace, digest, file.size, now, now);
      return true;
    });

  return {
    info,

    async reader(digest: Digest, options: ReaderOptions = {}): Promise<Readable> {
      await info(digest, options);
      return blobs.reader(digest, options);
    },

    async writer(options: WriterOptions): Promise<Writer> {
      const { expected } = options;
      if (expected !== undefined) {
        parseDigest(expected, `ingest ${options.ref}: expected`);
        if (stored(expected, options.total)) {
          await blobs.sweep(options.ref, namespace);
          forgetIngest(options.ref);
          throw fail('AlreadyExists', `content ${expected}: already exists`);
        }
      }
      write(db, () => {
        ensureNamespace(db, namespace);
        const now = Date.now();
        hold('ingests', options.ref);
        // The blob this ingest becomes is held too: gc must not take it between the
        // commit's rename and its record.
        if (expected !== undefined) hold('content', expected);
        db.prepare(
          `INSERT INTO ingests (namespace, ref, expected, total, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(namespace, ref) DO UPDATE SET expected = excluded.expected, total = excluded.total,
             expires_at = excluded.expires_at`,
        ).run(
          namespace,
          options.ref,
          expected ?? null,
          options.total ?? null,
          now,
          now + INGEST_EXPIRY_MS,
        );
      });
      let inner: Writer;
      try {
        inner = await blobs.writer({ ...options, scope: namespace });
      } catch (err) {
        forgetIngest(options.ref);
        // Committed by another writer since the check above: record it here as well.
        if (isCode(err, 'AlreadyExists') && expected !== undefined) stored(expected, options.total);
        throw err;
      }
      return namespacedWriter(inner, options.ref, {
        committed: (digest, size, labels) => {
          forgetIngest(options.ref);
          return record(digest, size, labels);
        },
      });
    },

    async status(ref: string, options: CallOptions = {}): Promise<Status> {
      throwIfAborted(options.signal);
      return toUserStatus(await blobs.status(ref, namespace));
    },

    async listStatuses(options: CallOptions = {}): Promise<Status[]> {
      throwIfAborted(options.signal);
      const all = await blobs.listStatuses();
      return all.filter((s) => s.scope === namespace).map(toUserStatus);
    },

    async abort(ref: string, options: CallOptions = {}): Promise<void> {
      throwIfAborted(options.signal);
      await blobs.abort(ref, namespace);
      forgetIngest(ref);
    },

    async update(digest, labels, fieldpaths = [], options = {}) {
      throwIfAborted(options.signal);
      validateLabels(labels);
      return write(db, () => {
        const current = find(digest);
        if (!current) throw fail('NotFound', `content ${digest}: not found`);
        const next = mergeLabels(current.labels, labels, fieldpaths);
        db.prepare(
          'UPDATE content SET labels = ?, updated_at = ? WHERE namespace = ? AND digest = ?',
        ).run(JSON.stringify(next), Date.now(), namespace, digest);
        return find(digest)!;
      });
    },

    async walk(fn, filters = [], options = {}) {
      const filter = parseFilters(filters);
      const rows = db
        .prepare('SELECT * FROM content WHERE namespace = ? ORDER BY digest')
        .all(namespace) as Row[];
      for (const row of rows) {
        throwIfAborted(options.signal);
        const i = toInfo(row);
        const fields = { digest: i.digest, size: String(i.size) };
        if (filter.match(labelledAdaptor(fields, i.labels))) await fn(i);
      }
    },

    /**
     * Removes this namespace's record; the bytes go in the same transaction when nothing
     * refers to them any more (no record in any namespace, no ingest expecting them, no
     * live lease), exactly as garbage collection decides, so a concurrent commit or
     * adoption of the digest never loses its file.
     */
    async delete(digest: Digest, options: CallOptions = {}) {
      throwIfAborted(options.signal);
      parseDigest(digest);
      const path = blobs.blobPath(digest);
      write(db, () => {
        const result = db
          .prepare('DELETE FROM content WHERE namespace = ? AND digest = ?')
          .run(namespace, digest);
        if (result.changes === 0) throw fail('NotFound', `content ${digest}: not found`);
        if (!referenced(db, digest)) rmSync(path, { force: true });
      });
    },
  };
}

/**
 * containerd's label update: with no fieldpaths the labels are replaced; with
 * `labels.<key>` fieldpaths only those keys change (an empty value removes the key);
 * `labels` alone replaces them all.
 */
export function mergeLabels(
  current: Labels,
  labels: Labels,
  fieldpaths: readonly string[],
): Record<string, string> {
  if (fieldpaths.length === 0 || fieldpaths.includes('labels')) return clean(labels);
  const next: Record<string, string> = { ...current };
  for (const path of fieldpaths) {
    if (!path.startsWith('labels.')) {
      throw fail('InvalidArgument', `content: cannot update field ${path}`);
    }
    const key = path.slice('labels.'.length);
    const value = labels[key];
    if (value === undefined || value === '') delete next[key];
    else next[key] = value;
  }
  return next;
}

function clean(labels: Labels): Record<string, string> {
  return Object.fromEntries(Object.entries(labels).filter(([, v]) => v !== ''));
}

interface WriterHooks {
  /** Records the blob in the namespace; true when the record was already there. */
  committed(digest: Digest, size: number, labels: Labels): boolean;
}

function namespacedWriter(inner: Writer, ref: string, hooks: WriterHooks): Writer {
  return {
    ref,
    get offset() {
      return inner.offset;
    },
    write: (chunk) => inner.write(chunk),
    digest: () => inner.digest(),
    truncate: (size) => inner.truncate(size),
    close: () => inner.close(),
    status: async () => toUserStatus((await inner.status()) as ScopedStatus),
    async commit(options: CommitOptions = {}) {
      const size = inner.offset;
      let digest: Digest;
      let moved = true;
      try {
        digest = await inner.commit(options);
      } catch (err) {
        // The bytes are already stored (by another ingest or namespace): record them here.
        if (!isCode(err, 'AlreadyExists')) throw err;
        moved = false;
        digest = options.expected ?? inner.digest();
      }
      const recorded = hooks.committed(digest, size, options.labels ?? {});
      // AlreadyExists only when this commit added nothing: neither bytes nor a record.
      if (!moved && recorded) throw fail('AlreadyExists', `content ${digest}: already exists`);
      return digest;
    },
  };
}

/** True when a record, an ingest or a live lease still refers to the blob `digest`. */
function referenced(db: Db, digest: Digest): boolean {
  const now = Date.now();
  return Boolean(
    db.prepare('SELECT 1 FROM content WHERE digest = ? LIMIT 1').get(digest) ??
      db.prepare('SELECT 1 FROM ingests WHERE expected = ? LIMIT 1').get(digest) ??
      db
        .prepare(
          `SELECT 1 FROM lease_resources r JOIN leases l ON l.namespace = r.namespace AND l.id = r.lease
           WHERE r.type = 'content' AND r.id = ? AND (l.expires_at IS NULL OR l.expires_at > ?) LIMIT 1`,
        )
        .get(digest, now),
  );
}
