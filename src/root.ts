import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BlobStore, openBlobStore } from './content/index.js';
import type { Store } from './content/types.js';
import { type PullImageOptions, pullImage } from './image/pull.js';
import {
  type Db,
  type Image,
  type ImageStore,
  imageStore,
  type LeaseStore,
  leaseStore,
  type NamespaceStore,
  namespacedContentStore,
  namespaceStore,
  openDatabase,
  validateNamespace,
} from './metadata/index.js';
import {
  defaultSnapshotter,
  openSnapshotter,
  type Snapshotter,
  type SnapshotterName,
} from './snapshots/index.js';

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
export interface Strata {
  readonly root: string;
  readonly namespace: string;
  readonly db: Db;
  readonly blobs: BlobStore;
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

export function defaultRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STRATA_ROOT) return resolve(env.STRATA_ROOT);
  if (process.getuid?.() === 0) return '/var/lib/strata';
  const data = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(data, 'strata');
}

export function defaultNamespace(env: NodeJS.ProcessEnv = process.env): string {
  return env.STRATA_NAMESPACE || 'default';
}

/**
 * Opens (creating if needed) a root.
 * @throws InvalidArgument for a bad namespace name; PermissionDenied when the root is not writable.
 */
export async function openStrata(options: RootOptions = {}): Promise<Strata> {
  const root = resolve(options.root ?? defaultRoot());
  const namespace = validateNamespace(options.namespace ?? defaultNamespace());
  await mkdir(join(root, 'tmp'), { recursive: true });
  const blobs = await openBlobStore(join(root, 'content'));
  const db = openDatabase(join(root, 'meta.db'));
  const view = (ns: string, lease?: string): Strata => {
    const held = lease === undefined ? {} : { lease };
    return {
      root,
      namespace: ns,
      db,
      blobs,
      ...held,
      content: namespacedContentStore(db, blobs, ns, held),
      images: imageStore(db, ns),
      namespaces: namespaceStore(db),
      leases: leaseStore(db, ns),
      snapshotter: async (name) =>
        openSnapshotter(name ?? (await defaultSnapshotter(root)), {
          root,
          db,
          namespace: ns,
          ...held,
        }),
      pull(ref, pullOptions) {
        return pullImage(this, ref, pullOptions);
      },
      withNamespace: (other) => view(validateNamespace(other)),
      withLease: (id) => view(ns, id),
      close: () => db.close(),
    };
  };
  return view(namespace);
}
