/**
 * metadata: every record strata keeps, in one SQLite database (`<root>/meta.db`, WAL):
 * namespaces, images, content records (which namespace sees which blob, with labels),
 * ingests, leases and snapshot rows. Stores are synchronous (better-sqlite3) and each
 * write is one short transaction; file work happens before or after it, never inside.
 */

export { mergeLabels, namespacedContentStore } from './content-store.js';
export {
  type Db,
  type Labels,
  migrate,
  openDatabase,
  parseLabels,
  read,
  validateLabels,
  write,
} from './db.js';
export { findImage, type Image, type ImageStore, imageStore, type NewImage } from './images.js';
export {
  holdResource,
  type Lease,
  type LeaseResource,
  type LeaseStore,
  leaseStore,
  type NewLease,
  newLeaseId,
} from './leases.js';
export { MIGRATIONS, type Migration } from './migrations.js';
export {
  ensureNamespace,
  type Namespace,
  type NamespaceStore,
  namespaceStore,
  registerNamespacedTable,
  validateNamespace,
} from './namespaces.js';
export {
  type NewSnapshotRecord,
  type SnapshotKind,
  type SnapshotRecord,
  type SnapshotRecords,
  snapshotRecords,
  validateSnapshotKey,
} from './snapshots.js';
