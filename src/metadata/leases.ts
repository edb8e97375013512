import { randomBytes } from 'node:crypto';
import { fail } from '../errors.js';
import { labelledAdaptor, parseFilters } from '../filters.js';
import { type Db, type Labels, parseLabels, validateLabels, write } from './db.js';
import { ensureNamespace } from './namespaces.js';

/**
 * Leases (containerd's): a lease holds resources — content, ingests, snapshots — so that
 * garbage collection keeps them while an operation that has not recorded its result yet
 * (a pull, an unpack, an import) is still running. An expired lease holds nothing.
 */
export interface Lease {
  readonly id: string;
  readonly labels: Labels;
  readonly createdAt: Date;
  readonly expiresAt?: Date;
}

/** What a lease holds: `content` (a digest), `ingests` (a ref), `snapshots/<sn>` (a key). */
export interface LeaseResource {
  readonly type: string;
  readonly id: string;
}

export interface NewLease {
  /** Default: a random id. */
  readonly id?: string;
  readonly labels?: Labels;
  /** Milliseconds from now until the lease stops holding anything; none: never. */
  readonly expiresInMs?: number;
}

export interface LeaseStore {
  /** @throws AlreadyExists, InvalidArgument */
  create(lease?: NewLease): Lease;
  /** @throws NotFound */
  get(id: string): Lease;
  /** Leases matching any of `filters` (fields: id, labels.*). */
  list(filters?: readonly string[]): Lease[];
  /** Removes the lease and its resource list (what it held is left to gc). @throws NotFound */
  delete(id: string): void;
  /** @throws NotFound */
  resources(id: string): LeaseResource[];
  /** Adds a resource (idempotent). @throws NotFound */
  addResource(id: string, resource: LeaseResource): void;
}

interface Row {
  id: string;
  labels: string;
  created_at: number;
  expires_at: number | null;
}

const toLease = (r: Row): Lease => ({
  id: r.id,
  labels: parseLabels(r.labels),
  createdAt: new Date(r.created_at),
  ...(r.expires_at === null ? {} : { expiresAt: new Date(r.expires_at) }),
});

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,75}$/;

/** Records `resource` under `lease` (call inside the write transaction that creates it). */
export function holdResource(
  db: Db,
  namespace: string,
  lease: string,
  resource: LeaseResource,
): void {
  const result = db
    .prepare(
      `INSERT INTO lease_resources (namespace, lease, type, id)
       SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM leases WHERE namespace = ? AND id = ?)
       ON CONFLICT DO NOTHING`,
    )
    .run(namespace, lease, resource.type, resource.id, namespace, lease);
  if (
    result.changes === 0 &&
    !db.prepare('SELECT 1 FROM leases WHERE namespace = ? AND id = ?').get(namespace, lease)
  ) {
    throw fail('NotFound', `lease ${lease}: not found`);
  }
}

export function leaseStore(db: Db, namespace: string): LeaseStore {
  const get = (id: string): Lease => {
    const row = db
      .prepare('SELECT * FROM leases WHERE namespace = ? AND id = ?')
      .get(namespace, id) as Row | undefined;
    if (!row) throw fail('NotFound', `lease ${id}: not found`);
    return toLease(row);
  };
  return {
    get,
    create(lease = {}) {
      const id = lease.id ?? newLeaseId();
      if (!ID.test(id))
        throw fail('InvalidArgument', `lease ${JSON.stringify(id.slice(0, 80))}: invalid id`);
      validateLabels(lease.labels ?? {});
      const now = Date.now();
      const expires = lease.expiresInMs === undefined ? null : now + lease.expiresInMs;
      return write(db, () => {
        ensureNamespace(db, namespace);
        const result = db
          .prepare(
            `INSERT INTO leases (namespace, id, labels, created_at, expires_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(namespace, id) DO NOTHING`,
          )
          .run(namespace, id, JSON.stringify(lease.labels ?? {}), now, expires);
        if (result.changes === 0) throw fail('AlreadyExists', `lease ${id}: already exists`);
        return get(id);
      });
    },
    list(filters = []) {
      const filter = parseFilters(filters);
      const rows = db
        .prepare('SELECT * FROM leases WHERE namespace = ? ORDER BY created_at, id')
        .all(namespace) as Row[];
      return rows.map(toLease).filter((l) => filter.match(labelledAdaptor({ id: l.id }, l.labels)));
    },
    delete(id) {
      write(db, () => {
        const result = db
          .prepare('DELETE FROM leases WHERE namespace = ? AND id = ?')
          .run(namespace, id);
        if (result.changes === 0) throw fail('NotFound', `lease ${id}: not found`);
      });
    },
    resources(id) {
      get(id);
      return db
        .prepare(
          'SELECT type, id FROM lease_resources WHERE namespace = ? AND lease = ? ORDER BY type, id',
        )
        .all(namespace, id) as LeaseResource[];
    },
    addResource(id, resource) {
      write(db, () => holdResource(db, namespace, id, resource));
    },
  };
}

/** A fresh lease id (random, time-ordered), for callers that need it before the lease. */
export function newLeaseId(): string {
  return `strata-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}
