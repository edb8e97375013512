import type { Store } from '../content/index.js';
import { fail, isCode } from '../errors.js';
import type { LayerTap } from '../fetch/index.js';
import { describeImage, type ImageManifest, storeReader, walkImage } from '../image/index.js';
import type { Descriptor, Digest, PlatformMatcher } from '../oci/index.js';
import { isIndexType, isManifestType } from '../oci/index.js';
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
  /** index.json entries whose walk waits for a blob (a document or a config) to be stored. */
  private readonly waiting = new Map<Digest, Descriptor[]>();
  private readonly stored = new Set<Digest>();
  private readonly tapped = new Set<Digest>();

  constructor(
    private readonly content: Store,
    private readonly unpackOptions: UnpackOptions,
    private readonly matcher: PlatformMatcher,
  ) {}

  /** A tar's `index.json`: each image entry is walked as its blobs are stored. */
  watchIndex(entries: readonly Descriptor[]): void {
    for (const e of entries) {
      if (isIndexType(e.mediaType) || isManifestType(e.mediaType)) this.waitFor(e.digest, e);
    }
  }

  /**
   * A blob is in the store (ingested now or before): the walks waiting for it go on, and
   * plan their image before the archive's next member (its layers) streams by.
   */
  async blobStored(digest: Digest): Promise<void> {
    this.stored.add(digest);
    const owner = this.owners.get(digest);
    if (owner) owner.unpack.fetched(owner.index);
    const entries = this.waiting.get(digest);
    if (!entries) return;
    this.waiting.delete(digest);
    for (const entry of entries) await this.follow(entry).catch(ignoreInvalid);
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

  /**
   * Walks an entry (this host's platform only) as far as the blobs stored so far go; the
   * first one missing makes the entry wait for it. Walking again from the entry is cheap:
   * a few small documents, read from the store.
   */
  private async follow(entry: Descriptor): Promise<void> {
    await walkImage(entry, {
      read: storeReader(this.content, async (desc) => {
        if (this.stored.has(desc.digest)) return;
        this.waitFor(desc.digest, entry);
        throw fail('NotFound', `blob ${desc.digest}: not stored yet`);
      }),
      matcher: this.matcher,
      visit: {
        manifest: async ({ descriptor, manifest, imageConfig }) => {
          if (!imageConfig) return; // an artifact: nothing to unpack
          const image = describeImage(descriptor, manifest, imageConfig);
          if (this.matcher.match(image.platform)) await this.plan(image);
        },
      },
    });
  }

  private waitFor(digest: Digest, entry: Descriptor): void {
    this.waiting.set(digest, [...(this.waiting.get(digest) ?? []), entry]);
  }
}

/**
 * A malformed document only stops its one-pass unpack: the import's own checks, which come
 * after, report it with the archive's name.
 */
function ignoreInvalid(err: unknown): void {
  if (!isCode(err, 'InvalidArgument', 'NotFound', 'FailedPrecondition')) throw err;
}
