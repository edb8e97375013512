import type { WhiteoutMode } from '../apply/index.js';
import type { Db, Labels } from '../metadata/index.js';

export type { Labels };

/**
 * The vocabulary, as in containerd:
 * - `key` names an **active** snapshot (from `prepare`, writable) or a **view** (from `view`,
 *   read-only); `name` names a **committed** snapshot (from `commit`, immutable). Keys and
 *   names share one key space per namespace and snapshotter.
 * - `parent` is always a committed snapshot; no parent means an empty directory.
 * - A snapshot's files live in `<root>/snapshots/<snapshotter>/<id>/`, `id` a short random
 *   string that never changes (commit renames the key, not the directory).
 */
export type Kind = 'active' | 'view' | 'committed';

export type SnapshotterName = 'overlay' | 'native';

export interface Info {
  /** The key (active, view) or name (committed). */
  readonly name: string;
  readonly parent?: string;
  readonly kind: Kind;
  readonly labels: Labels;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** Disk used by a snapshot itself, parents excluded (native: its whole copy). */
export interface Usage {
  /** Bytes allocated (st_blocks * 512), each inode counted once. */
  readonly size: number;
  readonly inodes: number;
}

/** containerd's mount.Mount: what `mount(8)` would be given. */
export interface Mount {
  /** `bind` or `overlay`. */
  readonly type: string;
  readonly source: string;
  /** Flags (`ro`, `rw`, `rbind`) and filesystem data (`lowerdir=...`). */
  readonly options: readonly string[];
}

/**
 * How a layer is applied straight into an active snapshot, without mounting it. The fields
 * line up with the unpacker's `ApplyOptions` (whiteouts, parents, rootless).
 */
export interface ApplyTarget {
  /** The directory the layer's entries are written into. */
  readonly dir: string;
  /**
   * overlay: the parents' directories, nearest first (hardlink targets and implicit
   * directories are resolved there); native: empty, `dir` already holds the full tree.
   */
  readonly parents: readonly string[];
  /**
   * `overlay`: whiteouts become 0:0 char devices and opaque xattrs, for overlayfs to stack;
   * `native`: whiteouts delete from `dir`.
   */
  readonly whiteouts: WhiteoutMode;
  /**
   * Apply without privileges: overlay metadata in `user.overlay.*` (a `userxattr` mount),
   * no owners or device nodes. overlay: its `rootless` option; native: not running as root.
   */
  readonly rootless: boolean;
}

export interface CallOptions {
  readonly signal?: AbortSignal;
}

export interface CreateOptions extends CallOptions {
  readonly labels?: Labels;
}

export interface CommitOptions extends CreateOptions {
  /**
   * Rebase: commit a snapshot prepared without a parent on top of the committed `parent`
   * (containerd's rebase capability, what lets layers unpack in parallel). Only
   * snapshotters whose `capabilities.rebase` is true accept it.
   */
  readonly parent?: string;
}

export interface ApplyTargetOptions extends CallOptions {
  /**
   * For a snapshot prepared without a parent and to be rebased onto the committed
   * `parent`: `parents` lists the directories it will have then.
   */
  readonly parent?: string;
}

export type WalkFn = (info: Info) => void | Promise<void>;

/**
 * A snapshotter: allocates, commits and mounts filesystem snapshots (containerd's
 * `snapshots.Snapshotter`). Rows live in the root's SQLite metadata, namespaced; files
 * under `<root>/snapshots/<name>/`. Several processes may share a root.
 */
export interface Snapshotter {
  readonly name: SnapshotterName;
  /**
   * `rebase`: a layer can be prepared without its parent, filled, and committed onto the
   * parent later (overlay: a layer's upper dir does not depend on what is below it).
   */
  readonly capabilities: { readonly rebase: boolean };
  /** @throws NotFound */
  stat(key: string, options?: CallOptions): Promise<Info>;
  /**
   * Updates the mutable fields (labels). No fieldpaths: replace the labels; `labels`:
   * the same; `labels.<k>`: set or (when absent from `info`) delete one label.
   * @throws NotFound; InvalidArgument for any other fieldpath.
   */
  update(info: Info, fieldpaths?: readonly string[], options?: CallOptions): Promise<Info>;
  /** Disk used by the snapshot, parents excluded. May walk the tree. @throws NotFound */
  usage(key: string, options?: CallOptions): Promise<Usage>;
  /** The mounts of an active snapshot or view. @throws NotFound; FailedPrecondition (committed) */
  mounts(key: string, options?: CallOptions): Promise<Mount[]>;
  /**
   * Creates an active snapshot on `parent` (a committed snapshot) and returns its mounts.
   * @throws AlreadyExists (key taken); NotFound (parent); InvalidArgument (parent not committed)
   */
  prepare(key: string, parent?: string, options?: CreateOptions): Promise<Mount[]>;
  /** Like `prepare`, but read-only and never committed. Same errors. */
  view(key: string, parent?: string, options?: CreateOptions): Promise<Mount[]>;
  /**
   * Commits the active snapshot `key` as `name` (its labels replaced by `options.labels`);
   * `key` is gone afterwards. Unmount first.
   * @throws NotFound; FailedPrecondition (not active, or a rebase the snapshotter cannot
   *   do); AlreadyExists (name taken); InvalidArgument (rebase parent not committed)
   */
  commit(name: string, key: string, options?: CommitOptions): Promise<void>;
  /** Removes a snapshot and its files. @throws NotFound; FailedPrecondition (has children) */
  remove(key: string, options?: CallOptions): Promise<void>;
  /** Calls `fn` for each snapshot matching any of `filters` (name, parent, kind, labels.*). */
  walk(fn: WalkFn, filters?: readonly string[], options?: CallOptions): Promise<void>;
  /**
   * Removes what crashes left behind: directories no row owns, staging dirs whose creator
   * is gone, half-deleted snapshots. Safe while other processes use the root.
   */
  cleanup(options?: CallOptions): Promise<void>;
  /**
   * Where to write a layer into the active snapshot `key` directly, without mounting (the
   * unpacker's path). @throws NotFound; FailedPrecondition (not active)
   */
  applyTarget(key: string, options?: ApplyTargetOptions): Promise<ApplyTarget>;
}

/** What every snapshotter factory takes. */
export interface SnapshotterOptions {
  /** The strata root (`<root>/snapshots/<name>/` holds the files). */
  readonly root: string;
  readonly db: Db;
  readonly namespace: string;
  /** Every snapshot this snapshotter creates or commits is held by this lease. */
  readonly lease?: string;
}
