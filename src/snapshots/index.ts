/**
 * snapshots: filesystem snapshots in containerd's model. A snapshot is prepared (active,
 * writable) or viewed (read-only) on a committed parent, filled, then committed under a
 * name that later snapshots use as their parent. Two snapshotters share one Snapshotter
 * interface and one conformance suite: `overlay` (layers stacked by overlayfs, needs root)
 * and `native` (every snapshot a full reflinked copy, works without root). Rows live in the
 * root's SQLite metadata (namespaced); files under `<root>/snapshots/<snapshotter>/<id>/`,
 * built in a staging dir and renamed in before their row exists, so a crash never leaves a
 * half-made snapshot visible; `cleanup()` sweeps what a crash left. Mounting helpers turn
 * the returned mounts into real mounts (root only).
 */

export { type CopyTreeOptions, copyTree } from './copy-tree.js';
export {
  compactOverlayOptions,
  type MountAllOptions,
  mountAll,
  parseOptions,
  type UnmountOptions,
  unmountAll,
} from './mount.js';
export { nativeSnapshotter } from './native.js';
export { type OverlayOptions, overlayMounts, overlaySnapshotter } from './overlay.js';
export {
  defaultSnapshotter,
  openSnapshotter,
  parseSnapshotterName,
  SNAPSHOTTERS,
} from './select.js';
export { snapshotterDir } from './snapshotter.js';
export { trash } from './staging.js';
export type {
  ApplyTarget,
  ApplyTargetOptions,
  CallOptions,
  CommitOptions,
  CreateOptions,
  Info,
  Kind,
  Labels,
  Mount,
  Snapshotter,
  SnapshotterName,
  SnapshotterOptions,
  Usage,
  WalkFn,
} from './types.js';
export { diskUsage } from './usage.js';
