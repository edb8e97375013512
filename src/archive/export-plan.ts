import type { Store } from '../content/index.js';
import { fail, isCode, throwIfAborted } from '../errors.js';
import {
  type ArtifactNode,
  type ChildDecision,
  describeImage,
  type ImageManifest,
  type IndexNode,
  type ManifestNode,
  storeReader,
  type Visitor,
  walkImage,
} from '../image/index.js';
import { findImage, type ImageStore } from '../metadata/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import { formatPlatform, isIndexType, isManifestType } from '../oci/index.js';
import type { Selection } from './selection.js';

/**
 * What an export writes for each image: its target and, below it, the platforms selected
 * (an index is written as it is, so the image keeps its digest, with the blobs of the
 * platforms kept; containerd's exporter does the same). Documents (indexes, manifests,
 * configs) come before layers, so that an importer reading the archive in one pass knows
 * an image before its layers stream by.
 */
export interface ExportImage {
  readonly name: string;
  readonly target: Descriptor;
  /** The image manifests kept, with their configs and layers. */
  readonly manifests: readonly ImageManifest[];
  /** Indexes, manifests and configs (and other small blobs), parents first. */
  readonly documents: readonly Descriptor[];
  readonly layers: readonly Descriptor[];
}

/**
 * Reads what to export for each name (given as recorded, or in any form that normalizes to it).
 * @throws NotFound for an unknown image, a platform not stored, or a missing blob.
 */
export async function planExport(
  content: Store,
  images: ImageStore,
  names: readonly string[],
  selection: Selection,
  options: { signal?: AbortSignal; onWarning?: (message: string) => void } = {},
): Promise<ExportImage[]> {
  const out: ExportImage[] = [];
  for (const name of names) {
    throwIfAborted(options.signal);
    const image = findImage(images, name);
    const plan = new ExportVisitor(content, image.name, selection, options.onWarning);
    await walkImage(image.target, {
      read: storeReader(content, (desc, { role }) => plan.require(desc, role)),
      visit: plan,
      matcher: selection.matcher,
      all: selection.all,
      subject: `image ${image.name}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (plan.manifests.length === 0 && plan.sawImages) {
      throw fail(
        'NotFound',
        `image ${image.name}: no manifest for ${selection.matcher.description}`,
      );
    }
    out.push({
      name: image.name,
      target: image.target,
      manifests: plan.manifests,
      documents: [...plan.documents.values()],
      layers: [...plan.layers.values()],
    });
  }
  return out;
}

/**
 * What an export keeps of one image: every document, config and layer stored under the
 * platforms selected, each stored with its descriptor's size; with `all`, a child an index
 * lists but the store lacks (a pull for one platform stores that one) is skipped, with a
 * warning for a manifest.
 */
class ExportVisitor implements Visitor {
  readonly manifests: ImageManifest[] = [];
  readonly documents = new Map<Digest, Descriptor>();
  readonly layers = new Map<Digest, Descriptor>();
  sawImages = false;

  constructor(
    private readonly content: Store,
    private readonly name: string,
    private readonly selection: Selection,
    private readonly onWarning: ((message: string) => void) | undefined,
  ) {}

  /** @throws NotFound when `desc` is not stored; FailedPrecondition when its size differs. */
  async require(desc: Descriptor, role: string): Promise<void> {
    if (!(await this.stored(desc, role))) {
      // A layer may have been let go on purpose (pull --discard-unpacked-layers).
      const hint = role === 'layer' ? ' (discarded after unpacking? pull the image again)' : '';
      throw fail(
        'NotFound',
        `image ${this.name}: ${role} ${desc.digest}: not in the content store${hint}`,
      );
    }
  }

  async child(child: Descriptor): Promise<ChildDecision> {
    if (await this.stored(child, 'manifest')) return 'walk';
    // A pull for one platform stores that platform only: export what is there.
    if (!this.selection.all) await this.require(child, 'manifest');
    if (isManifestType(child.mediaType) || isIndexType(child.mediaType)) {
      const p = child.platform ? ` (${formatPlatform(child.platform)})` : '';
      this.onWarning?.(`image ${this.name}: manifest ${child.digest}${p} not stored: skipped`);
    }
    return 'skip';
  }

  index(node: IndexNode): void {
    this.documents.set(node.descriptor.digest, node.descriptor);
  }

  artifact(node: ArtifactNode): void {
    this.documents.set(node.descriptor.digest, node.descriptor);
  }

  async manifest({ descriptor, manifest, imageConfig, depth }: ManifestNode): Promise<void> {
    this.documents.set(descriptor.digest, descriptor);
    // An image config was checked to be read; an artifact's is checked now.
    if (!imageConfig) await this.require(manifest.config, 'config');
    this.documents.set(manifest.config.digest, manifest.config);
    for (const layer of manifest.layers) {
      await this.require(layer, 'layer');
      this.layers.set(layer.digest, layer);
    }
    if (!imageConfig) return; // an artifact
    this.sawImages = true;
    const image = describeImage(descriptor, manifest, imageConfig);
    // A manifest that is the image itself is all there is: kept whatever its platform.
    if (depth === 0 || this.selection.all || this.selection.matcher.match(image.platform)) {
      this.manifests.push(image);
    }
  }

  private async stored(desc: Descriptor, role: string): Promise<boolean> {
    try {
      const info = await this.content.info(desc.digest);
      if (info.size !== desc.size) {
        throw fail(
          'FailedPrecondition',
          `image ${this.name}: ${role} ${desc.digest}: stored size ${info.size}, descriptor says ${desc.size}`,
        );
      }
      return true;
    } catch (err) {
      if (isCode(err, 'NotFound')) return false;
      throw err;
    }
  }
}
