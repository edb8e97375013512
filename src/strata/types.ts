import type { Store } from '../content/index.js';
import type { FetchOptions } from '../fetch/index.js';
import type { RootHandle } from '../gc/index.js';
import type { Image, ImageStore, LeaseStore, NamespaceStore } from '../metadata/index.js';
import type { Snapshotter, SnapshotterName } from '../snapshots/index.js';

/**
 * A strata root: one directory holding everything (see docs/ARCHITECTURE.md):
 *
 *   <root>/meta.db            SQLite, every record
 *   <root>/content/           blobs and ingests
 *   <root>/snapshots/<name>/  snapshot dirs per snapshotter
 *   <root>/tmp/               staging
 */
export interface RootOptions {
  /** Default: `$STRATA_ROOT`, else `/var/lib/strata` as root, else `$XDG_DATA_HOME/strata`. */
  readonly root?: string;
  /** Default: `$STRATA_NAMESPACE`, else `default`. */
  readonly namespace?: string;
}

/** An open root seen from one namespace. */
export interface Strata extends RootHandle {
  readonly namespace: string;
  /** The content store as this namespace sees it. */
  readonly content: Store;
  readonly images: ImageStore;
  readonly namespaces: NamespaceStore;
  /**
   * A snapshotter over this root and namespace: `name`, or the default (overlay as root
   * where overlayfs works, else native).
   */
  snapshotter(name?: SnapshotterName): Promise<Snapshotter>;
  /**
   * Pulls `ref` (fetch, verify, unpack unless `unpack: false`) and records the image.
   * A failed pull records nothing. See `pullImage`.
   */
  pull(ref: string, options?: PullImageOptions): Promise<Image>;
  readonly leases: LeaseStore;
  /** The lease this view's stores record what they create under, if any. */
  readonly lease?: string;
  /** The same root seen from another namespace (sharing the database connection). */
  withNamespace(namespace: string): Strata;
  /**
   * This view with every blob, ingest and snapshot its stores create held by lease `id`,
   * so that garbage collection keeps them until the lease is deleted or expires.
   */
  withLease(id: string): Strata;
  /** Closes the database; the object is unusable afterwards. */
  close(): void;
}

export interface PullImageOptions extends FetchOptions {
  /** Unpack into snapshots (default true); false only fetches (`--no-unpack`). */
  readonly unpack?: boolean;
  /** Default: overlay as root where overlayfs works, else native. */
  readonly snapshotter?: SnapshotterName;
  /** Layers applied at once, in worker threads (default: the number of CPUs). */
  readonly maxConcurrentUnpacks?: number;
  readonly onWarning?: (message: string) => void;
  /**
   * Once unpacked, let the compressed layer blobs go (containerd's discard_unpacked_layers),
   * for disk-tight machines: the manifest's `containerd.io/gc.ref.content.l.*` labels are
   * dropped and garbage collection frees the layer blobs no other image needs. The image
   * stays usable from its snapshots; export, push and unpacking into another snapshotter
   * need the layers again (pulling the image again fetches them).
   */
  readonly discardUnpackedLayers?: boolean;
}
