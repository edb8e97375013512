import type { Store } from '../content/index.js';
import { readBlob } from '../content/index.js';
import { fail, isCode, throwIfAborted } from '../errors.js';
import { describeImage, type ImageManifest } from '../image/index.js';
import { findImage, type ImageStore } from '../metadata/index.js';
import type { Descriptor, Digest } from '../oci/index.js';
import {
  formatPlatform,
  isConfigType,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  type Manifest,
  parseAny,
  parseConfig,
  selectManifests,
} from '../oci/index.js';
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
    const walk = new ExportWalk(content, image.name, selection, options.onWarning);
    await walk.node(image.target, 0);
    if (walk.manifests.length === 0 && walk.sawImages) {
      throw fail(
        'NotFound',
        `image ${image.name}: no manifest for ${selection.matcher.description}`,
      );
    }
    out.push({
      name: image.name,
      target: image.target,
      manifests: walk.manifests,
      documents: [...walk.documents.values()],
      layers: [...walk.layers.values()],
    });
  }
  return out;
}

const MAX_DEPTH = 4;

class ExportWalk {
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

  private async require(desc: Descriptor, role: string): Promise<void> {
    if (!(await this.stored(desc, role))) {
      // A layer may have been let go on purpose (pull --discard-unpacked-layers).
      const hint = role === 'layer' ? ' (discarded after unpacking? pull the image again)' : '';
      throw fail(
        'NotFound',
        `image ${this.name}: ${role} ${desc.digest}: not in the content store${hint}`,
      );
    }
  }

  async node(desc: Descriptor, depth: number): Promise<void> {
    const role = isIndexType(desc.mediaType) ? 'index' : 'manifest';
    await this.require(desc, role);
    this.documents.set(desc.digest, desc);
    const bytes = await readBlob(this.content, desc.digest, { maxSize: MAX_MANIFEST_SIZE });
    const parsed = parseAny(bytes, `image ${this.name}: ${role} ${desc.digest}`, desc.mediaType);
    if (parsed.kind === 'manifest') return this.manifest(desc, parsed.manifest, depth === 0);
    if (depth >= MAX_DEPTH) {
      throw fail('InvalidArgument', `image ${this.name}: index ${desc.digest}: nested too deeply`);
    }
    const { matcher, all } = this.selection;
    for (const child of selectManifests(parsed.index.manifests, matcher, all)) {
      const isDocument = isManifestType(child.mediaType) || isIndexType(child.mediaType);
      if (!(await this.stored(child, 'manifest'))) {
        // A pull for one platform stores that platform only: export what is there.
        if (all) {
          if (isDocument) {
            const p = child.platform ? ` (${formatPlatform(child.platform)})` : '';
            this.onWarning?.(
              `image ${this.name}: manifest ${child.digest}${p} not stored: skipped`,
            );
          }
          continue;
        }
        await this.require(child, 'manifest');
      }
      if (isDocument) await this.node(child, depth + 1);
      else this.documents.set(child.digest, child);
    }
  }

  private async manifest(desc: Descriptor, manifest: Manifest, top: boolean): Promise<void> {
    await this.require(manifest.config, 'config');
    this.documents.set(manifest.config.digest, manifest.config);
    for (const layer of manifest.layers) {
      await this.require(layer, 'layer');
      this.layers.set(layer.digest, layer);
    }
    if (!isConfigType(manifest.config.mediaType)) return;
    this.sawImages = true;
    const configBytes = await readBlob(this.content, manifest.config.digest, {
      maxSize: MAX_CONFIG_SIZE,
    });
    const image = describeImage(desc, manifest, parseConfig(configBytes));
    // A manifest that is the image itself is all there is: kept whatever its platform.
    if (top || this.selection.all || this.selection.matcher.match(image.platform)) {
      this.manifests.push(image);
    }
  }
}
