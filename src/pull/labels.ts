import type { Descriptor } from '../oci/descriptor.js';
import { isIndexType, isManifestType } from '../oci/media-types.js';

/**
 * The content labels containerd writes during a pull, so that garbage collection can
 * follow an image from its root (containerd `images.ChildGCLabels`,
 * `remotes/handlers.go`): a manifest references its config and layers, an index its
 * manifests, and every fetched blob records where it came from.
 */
export const GC_REF_CONTENT = 'containerd.io/gc.ref.content';
export const DISTRIBUTION_SOURCE = 'containerd.io/distribution.source';

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
      labels[`${GC_REF_CONTENT}.l.${i}`] = l.digest;
    });
  }
  if (isIndexType(parent.mediaType) || children.manifests) {
    children.manifests?.forEach((m, i) => {
      labels[`${GC_REF_CONTENT}.m.${i}`] = m.digest;
    });
  }
  return labels;
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
