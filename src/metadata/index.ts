/**
 * metadata: every record strata keeps, in one SQLite database (`<root>/meta.db`, WAL):
 * namespaces, images, content records (which namespace sees which blob, with labels),
 * ingests, leases and snapshot rows. Stores are synchronous (better-sqlite3) and each
 * write is one short transaction; file work happens before or after it, never inside.
 * Every SQL statement of strata lives here: whole-root readers (gc's graph, fsck) read the
 * inventory (inventory.ts), one snapshot of every table, and gc deletes through it.
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
  type ContentRow,
  deleteRecords,
  type ImageRow,
  type IngestRow,
  type Inventory,
  type LeaseRow,
  listIngests,
  type RecordKeys,
  readInventory,
  type SnapshotRow,
} from './inventory.js';
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
