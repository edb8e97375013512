import type { Digest } from '../oci/index.js';
import type { ZstdImplementation } from './zstd.js';

/**
 * How OCI whiteouts (`.wh.NAME`, `.wh..wh..opq`) are written:
 * - `overlay`: the layer gets its own directory, later stacked by overlayfs; a whiteout
 *   becomes a 0:0 character device, an opaque marker the `trusted.overlay.opaque=y`
 *   xattr (`user.overlay.opaque` when rootless).
 * - `delete`: the layer is applied onto a full copy of its parent (the native snapshotter);
 *   whiteouts delete what they name.
 */
export type WhiteoutMode = 'overlay' | 'delete';

export interface ApplyProgress {
  /** Tar entries applied so far. */
  readonly entries: number;
  /** Uncompressed bytes read so far. */
  readonly bytes: number;
}

export interface ApplyOptions {
  readonly whiteouts: WhiteoutMode;
  /**
   * What errors name the layer by, e.g. `layer sha256:<blob digest>`; default
   * `layer <expectedDiffId>` when that is given.
   */
  readonly subject?: string;
  /**
   * Apply without privileges (default: true unless running as root): no chown, device
   * nodes skipped with a warning, `user.overlay.*` instead of `trusted.overlay.*`,
   * xattrs the kernel refuses (security.capability, trusted.*) skipped with a warning.
   */
  readonly rootless?: boolean;
  /** The config's `rootfs.diff_ids[i]`; a mismatch fails with FailedPrecondition. */
  readonly expectedDiffId?: Digest;
  readonly signal?: AbortSignal;
  /** Something was skipped (a device node when rootless, an xattr the filesystem refuses). */
  readonly onWarning?: (message: string) => void;
  /** Called at most every 100 ms, and once at the end. */
  readonly onProgress?: (progress: ApplyProgress) => void;
  /**
   * Overlay only: the parent layers' directories, nearest first. Used to copy up the target
   * of a hardlink that lives in a lower layer, and to give directories this layer creates
   * implicitly (no entry of their own) the owner, mode, times and xattrs they have below,
   * as containerd does when it applies onto an overlay upper directory.
   *
   * `'later'`: the parents do not exist yet (layers unpacking in parallel, to be rebased at
   * commit). What needs them is recorded in `ApplyResult.deferred` instead, and
   * `finishLower` completes it once they are committed.
   */
  readonly parents?: readonly string[] | 'later';
  /** Force a zstd implementation (tests, benchmarks); default: the fastest available. */
  readonly zstd?: ZstdImplementation;
}

export interface ApplyResult {
  /** sha256 of the whole uncompressed stream, trailing bytes after the tar included. */
  readonly diffId: Digest;
  /** Uncompressed bytes. */
  readonly size: number;
  /** Tar entries read (whiteouts and skipped entries included). */
  readonly entries: number;
  /** With `parents: 'later'`: what `finishLower` must complete. Plain data. */
  readonly deferred?: DeferredLower;
}

/**
 * The parts of an overlay layer that depend on the layers below it, left for later:
 * directories created implicitly (relative paths) and the layer root take their metadata
 * from below; hardlinks whose target is not in this layer are made by copying it up;
 * whiteouts in directories only the layers below may have are placed once that is known.
 */
export interface DeferredLower {
  readonly root: boolean;
  readonly dirs: readonly string[];
  readonly links: readonly { readonly path: string; readonly target: string }[];
  /** `dir/.wh.name` (name null: `dir/.wh..wh..opq`) where `dir` was not in this layer. */
  readonly whiteouts: readonly { readonly dir: string; readonly name: string | null }[];
}
