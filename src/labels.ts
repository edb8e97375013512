import type { Descriptor } from './oci/index.js';
import { isIndexType, isManifestType } from './oci/index.js';

/**
 * Every label key strata reads or writes, in one place. Most are containerd's (so that a
 * root reads the way containerd's metadata does, and gc follows the same edges); the
 * `strata.io/` ones are strata's own.
 *
 * containerd: `core/metadata/gc.go` (roots and references), `core/images/image.go`
 * (`ChildGCLabels`), `core/remotes/handlers.go` (distribution source),
 * `core/unpack/unpacker.go` (snapshot refs).
 */

/** On any record: keep it (a gc root); the value is informational (a time). */
export const GC_ROOT = 'containerd.io/gc.root';
/** `<prefix>[.<anything>]` on content: a reference to the digest in the value. */
export const GC_REF_CONTENT = 'containerd.io/gc.ref.content';
/** `<prefix>.<snapshotter>[/<anything>]` on content: a reference to the snapshot key. */
export const GC_REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot';
/** `<prefix>.<registry host>` on content: the repositories the blob was fetched from. */
export const DISTRIBUTION_SOURCE = 'containerd.io/distribution.source';
/** On an active snapshot being unpacked: the chainID it will be committed as. */
export const SNAPSHOT_REF = 'containerd.io/snapshot.ref';

/** On a lease: what operation made it (`pull REF`, `import FILE`). */
export const OPERATION_LABEL = 'strata.io/operation';
/** On a lease: who owns it; `process` = the process holding its owner lock (gc/owners.ts). */
export const OWNER_LABEL = 'strata.io/owner';
export const OWNER_PROCESS = 'process';
/** On a view made by `images mount`: the directory it is mounted at. */
export const MOUNT_TARGET_LABEL = 'strata.io/mount.target';

/** `containerd.io/gc.ref.content.config`, `.l.<i>` for a manifest; `.m.<i>` for an index. */
export function childGcLabels(
  parent: Descriptor,
  children: {
    readonly config?: Descriptor;
    readonly layers?: readonly Descriptor[];
    readonly manifests?: readonly Descriptor[];
  },
): Record<string, string> {
  const labels: Record<string, string> = {};
  if (isManifestType(parent.mediaType) || children.config) {
    if (children.config) labels[`${GC_REF_CONTENT}.config`] = children.config.digest;
    children.layers?.forEach((l, i) => {
      labels[layerGcLabel(i)] = l.digest;
    });
  }
  if (isIndexType(parent.mediaType) || children.manifests) {
    children.manifests?.forEach((m, i) => {
      labels[`${GC_REF_CONTENT}.m.${i}`] = m.digest;
    });
  }
  return labels;
}

/** The label by which a manifest holds its layer `index`. */
export function layerGcLabel(index: number): string {
  return `${GC_REF_CONTENT}.l.${index}`;
}

/** Whether `key` is a manifest's reference to one of its layers. */
export function isLayerGcLabel(key: string): boolean {
  return key.startsWith(`${GC_REF_CONTENT}.l.`);
}

/** The label by which an image config holds its rootfs snapshot in `snapshotter`. */
export function snapshotGcLabel(snapshotter: string): string {
  return `${GC_REF_SNAPSHOT}.${snapshotter}`;
}

/** The distribution source label's key for a registry domain. */
export function distributionSourceKey(domain: string): string {
  return `${DISTRIBUTION_SOURCE}.${domain}`;
}

/** Adds `repo` to a comma-separated source list, keeping it sorted and unique. */
export function appendSource(existing: string | undefined, repo: string): string {
  const repos = new Set((existing ?? '').split(',').filter((r) => r !== ''));
  repos.add(repo);
  return [...repos].sort().join(',');
}
