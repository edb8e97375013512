import type { Readable } from 'node:stream';
import type { Digest } from '../oci/index.js';

/**
 * The content store's vocabulary (containerd's): a blob is named by its `digest` and is
 * immutable once committed; bytes arrive through an ingest named by a caller-chosen `ref`
 * (usually the digest being fetched), which survives a crash and resumes at its offset.
 * Roles compose: Store = Provider + Ingester + Manager.
 */
export type Labels = Readonly<Record<string, string>>;

export interface Info {
  readonly digest: Digest;
  readonly size: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly labels: Labels;
}

/** The state of an in-flight ingest. */
export interface Status {
  readonly ref: string;
  readonly offset: number;
  readonly total?: number;
  readonly expected?: Digest;
  readonly startedAt: Date;
  readonly updatedAt: Date;
}

export interface WriterOptions {
  readonly ref: string;
  /** The size the blob should have, when known; recorded in the status. */
  readonly total?: number;
  /** The digest the blob should have; if it is already stored, opening gives AlreadyExists. */
  readonly expected?: Digest;
  readonly signal?: AbortSignal;
}

export interface CommitOptions {
  /** The size the blob must have (checked when given). */
  readonly size?: number;
  /** The digest the blob must have (checked when given). */
  readonly expected?: Digest;
  readonly labels?: Labels;
}

/**
 * Writes one ingest. Bytes are hashed as they are written. `close()` without `commit()`
 * keeps the bytes for a later writer on the same ref. Only one writer per ref exists at a
 * time, across processes sharing the root.
 */
export interface Writer {
  readonly ref: string;
  /** Bytes written so far, including those found on disk when the ingest resumed. */
  readonly offset: number;
  write(chunk: Uint8Array): Promise<void>;
  /** The digest of the bytes written so far. */
  digest(): Digest;
  /**
   * Verifies size and digest, makes the bytes durable and moves them into the store.
   * @returns the digest committed.
   * @throws FailedPrecondition on a size or digest mismatch (the ingest is left in place,
   *   the caller aborts or truncates it); AlreadyExists when the blob is already stored
   *   (the ingest is removed; callers treat this as success).
   */
  commit(options?: CommitOptions): Promise<Digest>;
  /** Discards the bytes past `size` and rebuilds the digest state (0 restarts the ingest). */
  truncate(size: number): Promise<void>;
  /** Releases the writer, keeping the bytes written. Idempotent. */
  close(): Promise<void>;
  status(): Promise<Status>;
}

/** Every role method takes one: an aborted signal fails the call with Aborted. */
export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface ReaderOptions extends CallOptions {
  /** Byte offset to start from (default 0). */
  readonly offset?: number;
  /** Bytes to read (default: to the end). */
  readonly length?: number;
}

export interface Provider {
  /** @throws NotFound, Aborted */
  info(digest: Digest, options?: CallOptions): Promise<Info>;
  /**
   * A stream of the blob's bytes; the signal also destroys the stream (with Aborted).
   * @throws NotFound, InvalidArgument (an offset outside the blob), Aborted
   */
  reader(digest: Digest, options?: ReaderOptions): Promise<Readable>;
}

export interface Ingester {
  /** @throws Unavailable when another writer holds `ref`; AlreadyExists (see WriterOptions). */
  writer(options: WriterOptions): Promise<Writer>;
}

export interface IngestManager {
  /** @throws NotFound, Aborted */
  status(ref: string, options?: CallOptions): Promise<Status>;
  /** @throws Aborted */
  listStatuses(options?: CallOptions): Promise<Status[]>;
  /** Removes an ingest and its bytes. @throws NotFound, Unavailable, Aborted */
  abort(ref: string, options?: CallOptions): Promise<void>;
}

export interface Manager {
  /**
   * Replaces the labels (all of them, or only the `labels.<key>` fieldpaths given).
   * @throws NotFound, InvalidArgument (a label), Aborted
   */
  update(
    digest: Digest,
    labels: Labels,
    fieldpaths?: readonly string[],
    options?: CallOptions,
  ): Promise<Info>;
  /**
   * Calls `fn` for every blob matching any of `filters` (containerd filter syntax).
   * @throws InvalidArgument (a filter), Aborted
   */
  walk(
    fn: (info: Info) => void | Promise<void>,
    filters?: readonly string[],
    options?: CallOptions,
  ): Promise<void>;
  /** @throws NotFound, Aborted */
  delete(digest: Digest, options?: CallOptions): Promise<void>;
}

export interface Store extends Provider, Ingester, IngestManager, Manager {}

/** An ingest's status with the scope (namespace) that owns it. */
export interface ScopedStatus extends Status {
  readonly scope: string;
}
