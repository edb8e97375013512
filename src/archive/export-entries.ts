import type { ImageManifest } from '../image/index.js';
import type { Descriptor, PlatformMatcher } from '../oci/index.js';
import { digestHex, familiarName, MediaType, parseReference } from '../oci/index.js';
import type { ExportImage } from './export-plan.js';
import { LAYOUT_VERSION } from './layout.js';
import { blobPath } from './member-name.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, ociRefName } from './names.js';
import { bestManifest } from './selection.js';

/**
 * The JSON members an export writes: `oci-layout`, `index.json` (one entry per image name:
 * its target with containerd's and OCI's name annotations) and docker-save's
 * `manifest.json` (one entry per image manifest, with the names that point at it), which is
 * what `docker load` reads.
 */
export function layoutFile(): Buffer {
  return Buffer.from(JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
}

export function indexEntry(name: string, target: Descriptor): Record<string, unknown> {
  return {
    mediaType: target.mediaType,
    digest: target.digest,
    size: target.size,
    annotations: { [ANNOTATION_IMAGE_NAME]: name, [ANNOTATION_REF_NAME]: ociRefName(name) },
  };
}

export function indexFile(entries: readonly Record<string, unknown>[]): Buffer {
  return Buffer.from(
    JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: entries }),
  );
}

/** A tag reference in the familiar form docker-save uses (`alpine:latest`); none for digests. */
function repoTag(name: string): string | undefined {
  const ref = parseReference(name);
  if (ref.tag === undefined) return undefined;
  return familiarName({ domain: ref.domain, path: ref.path, tag: ref.tag });
}

export interface DockerImage {
  readonly manifest: ImageManifest;
  readonly names: string[];
}

/** One manifest per image (the best for `matcher`, else the first), grouped by digest. */
export function dockerImages(
  images: readonly ExportImage[],
  matcher: PlatformMatcher,
): DockerImage[] {
  const byDigest = new Map<string, DockerImage>();
  for (const image of images) {
    const manifest = bestManifest(image.manifests, matcher) ?? image.manifests[0];
    if (!manifest) continue; // an artifact: nothing docker can load
    const entry = byDigest.get(manifest.descriptor.digest) ?? { manifest, names: [] };
    entry.names.push(image.name);
    byDigest.set(manifest.descriptor.digest, entry);
  }
  return [...byDigest.values()];
}

/** docker-save's `manifest.json` with members named by `config` and `layer`. */
export function dockerManifestFile(
  images: readonly DockerImage[],
  config: (m: ImageManifest) => string,
  layer: (m: ImageManifest, i: number) => string,
): Buffer {
  return Buffer.from(
    JSON.stringify(
      images.map(({ manifest, names }) => ({
        Config: config(manifest),
        RepoTags: names.map(repoTag).filter((t): t is string => t !== undefined),
        Layers: manifest.layers.map((_, i) => layer(manifest, i)),
      })),
    ),
  );
}

/** Members named as in an OCI layout (the hybrid archive docker 25 also writes). */
export const ociMemberNames = {
  config: (m: ImageManifest) => blobPath(m.config.digest),
  layer: (m: ImageManifest, i: number) => blobPath(m.layers[i]!.digest),
};

/** Members named as skopeo's docker-archive names them: `<hex>.json`, `<diffID hex>.tar`. */
export const dockerMemberNames = {
  config: (m: ImageManifest) => `${digestHex(m.config.digest)}.json`,
  layer: (m: ImageManifest, i: number) => `${digestHex(m.diffIds[i]!)}.tar`,
};
