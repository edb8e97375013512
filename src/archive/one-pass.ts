import type { Store } from '../content/index.js';
import { readBlob } from '../content/index.js';
import { isCode } from '../errors.js';
import type { LayerTap } from '../fetch/index.js';
import { describeImage, type ImageManifest } from '../image/index.js';
import type { Descriptor, Digest, PlatformMatcher } from '../oci/index.js';
import {
  isConfigType,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  parseAny,
  parseConfig,
  selectManifests,
} from '../oci/index.js';
import {
  labelConfig,
  ManifestUnpack,
  type UnpackOptions,
  type UnpackResult,
  unpackImage,
} from '../unpack/index.js';

/**
 * Unpacking while an archive is read, where its order allows: once an image's manifest
 * and config are stored, its layers are applied from the bytes of the archive as they are
 * ingested (a tap, as during a pull); anything else is unpacked from the content store at
 * the end. In a tar, `index.json` must come before the manifests for this to happen (strata
 * writes it first; skopeo writes it last); in a directory it always does.
 *
 * Images sharing their base layer with an image already planned are unpacked at the end,
 * after it, so that shared layers are applied once.
 */
export class UnpackPlanner {
  private readonly unpacks = new Map<Digest, ManifestUnpack>();
  /** Layer digest -> the planned unpack that applies it and the layer's position. */
  private readonly owners = new Map<Digest, { unpack: ManifestUnpack; index: number }>();
  private readonly claimed = new Set<Digest>();
  /** Blobs to read once stored: manifests and indexes named by index.json, then configs. */
  private readonly watched = new Map<Digest, Descriptor>();
  private readonly configs = new Map<Digest, Descriptor[]>();
  private readonly stored = new Set<Digest>();
  private readonly tapped = new Set<Digest>();

  constructor(
    private readonly content: Store,
    private readonly unpackOptions: UnpackOptions,
    private readonly matcher: PlatformMatcher,
  ) {}

  /** A tar's `index.json`: its manifests are watched for as they are stored. */
  watchIndex(entries: readonly Descriptor[]): void {
    for (const e of entries) this.watch(e);
  }

  /** A blob is in the store (ingested now or before): reads it if it is a watched document. */
  async blobStored(digest: Digest): Promise<void> {
    this.stored.add(digest);
    const owner = this.owners.get(digest);
    if (owner) owner.unpack.fetched(owner.index);
    const desc = this.watched.get(digest);
    if (desc) {
      this.watched.delete(digest);
      await this.readDocument(desc).catch(ignoreInvalid);
    }
    const waiting = this.configs.get(digest);
    if (waiting) {
      this.configs.delete(digest);
      for (const m of waiting) await this.readImage(m).catch(ignoreInvalid);
    }
  }

  /** A tap for a layer whose ingest starts from zero, when a planned unpack can take it now. */
  tap(digest: Digest): LayerTap | undefined {
    const owner = this.owners.get(digest);
    if (!owner || this.tapped.has(digest)) return undefined;
    this.tapped.add(digest);
    return owner.unpack.tap(owner.index);
  }

  /** Plans the unpack of `image` unless planned (for layers stored after this). */
  async plan(image: ImageManifest): Promise<void> {
    const digest = image.descriptor.digest;
    if (this.unpacks.has(digest) || image.layers.length === 0) return;
    if (image.chainIds.some((c) => this.claimed.has(c))) return; // unpacked after its base
    const unpack = await ManifestUnpack.create(this.content, image, this.unpackOptions);
    this.unpacks.set(digest, unpack);
    for (const c of image.chainIds) this.claimed.add(c);
    image.layers.forEach((layer, index) => {
      if (this.owners.has(layer.digest)) return;
      this.owners.set(layer.digest, { unpack, index });
      if (this.stored.has(layer.digest)) unpack.fetched(index);
    });
  }

  /**
   * Unpacks `images` in order (planned ones finish, the others are unpacked from the store)
   * and labels their configs; planned unpacks not asked for are dropped.
   * @returns per manifest digest, the top chainID and the layers this import applied.
   */
  async finish(images: readonly ImageManifest[]): Promise<Map<Digest, UnpackResult>> {
    const wanted = new Set(images.map((i) => i.descriptor.digest));
    for (const [digest, unpack] of this.unpacks) {
      if (!wanted.has(digest)) await unpack.abort(new Error('not imported'));
    }
    const done = new Map<Digest, UnpackResult>();
    for (const image of images) {
      const digest = image.descriptor.digest;
      if (done.has(digest)) continue;
      const unpack = this.unpacks.get(digest);
      if (unpack) {
        this.unpacks.delete(digest);
        const result = await unpack.finish();
        await labelConfig(this.content, image, this.unpackOptions.snapshotter);
        done.set(digest, result);
      } else {
        done.set(digest, await unpackImage(this.content, image, this.unpackOptions));
      }
    }
    return done;
  }

  /** Stops every planned unpack, removing its active snapshots. */
  async abort(reason: unknown): Promise<void> {
    const all = [...this.unpacks.values()];
    this.unpacks.clear();
    await Promise.all(all.map((u) => u.abort(reason)));
  }

  private watch(desc: Descriptor): void {
    if (isIndexType(desc.mediaType) || isManifestType(desc.mediaType)) {
      this.watched.set(desc.digest, desc);
    }
  }

  private async readDocument(desc: Descriptor): Promise<void> {
    const bytes = await readBlob(this.content, desc.digest, { maxSize: MAX_MANIFEST_SIZE });
    const parsed = parseAny(bytes, `manifest ${desc.digest}`, desc.mediaType);
    if (parsed.kind === 'index') {
      for (const child of selectManifests(parsed.index.manifests, this.matcher, false)) {
        this.watch(child);
        if (this.stored.has(child.digest)) await this.blobStored(child.digest);
      }
      return;
    }
    const config = parsed.manifest.config;
    if (!isConfigType(config.mediaType)) return; // an artifact: nothing to unpack
    this.configs.set(config.digest, [...(this.configs.get(config.digest) ?? []), desc]);
    if (this.stored.has(config.digest)) await this.blobStored(config.digest);
  }

  private async readImage(desc: Descriptor): Promise<void> {
    const bytes = await readBlob(this.content, desc.digest, { maxSize: MAX_MANIFEST_SIZE });
    const manifest = parseAny(bytes, `manifest ${desc.digest}`, desc.mediaType);
    if (manifest.kind !== 'manifest') return;
    const config = manifest.manifest.config;
    const configBytes = await readBlob(this.content, config.digest, { maxSize: MAX_CONFIG_SIZE });
    const image = describeImage(desc, manifest.manifest, parseConfig(configBytes));
    if (this.matcher.match(image.platform)) await this.plan(image);
  }
}

/**
 * A malformed document only stops its one-pass unpack: the import's own checks, which come
 * after, report it with the archive's name.
 */
function ignoreInvalid(err: unknown): void {
  if (!isCode(err, 'InvalidArgument', 'NotFound', 'FailedPrecondition')) throw err;
}
