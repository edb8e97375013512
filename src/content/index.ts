/**
 * content: the content-addressed store. Committed blobs live read-only at
 * `<root>/content/blobs/sha256/<hex>`; bytes arrive through resumable ingests at
 * `<root>/content/ingest/<sha256(ref)>/` (hashed while written, verified on commit, fsynced,
 * renamed in). One writer per ref at a time, across processes (flock). Labels and
 * per-namespace visibility come from the metadata module's namespaced store.
 */

export { copyToWriter, openWriter, readBlob, writeBlob } from './helpers.js';
export { type BlobInfo, type BlobStore, openBlobStore } from './local-store.js';
export type {
  CallOptions,
  CommitOptions,
  Info,
  Ingester,
  IngestManager,
  Labels,
  Manager,
  Provider,
  ReaderOptions,
  ScopedStatus,
  Status,
  Store,
  Writer,
  WriterOptions,
} from './types.js';
