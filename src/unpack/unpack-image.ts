import { type ApplyPool, createApplyPool } from '../apply/index.js';
import type { Store } from '../content/index.js';
import type { ImageManifest } from '../image/index.js';
import { snapshotGcLabel } from '../labels.js';
import type { Snapshotter } from '../snapshots/index.js';
import { ManifestUnpack } from './manifest-unpack.js';
import type { UnpackOptions, UnpackResult } from './types.js';

/**
 * Unpacks an image whose blobs are in the content store into committed snapshots named by
 * chainID, reusing those already committed, through the same unpacker as a pull (parallel
 * applies where the snapshotter can rebase, commits in order, nothing half-applied left
 * on failure). Then labels the config with the snapshot (`containerd.io/gc.ref.snapshot.<sn>`).
 * @throws FailedPrecondition naming the layer when its diffID does not match; NotFound when
 *   a layer blob is missing; InvalidArgument for a malformed layer; Aborted.
 */
export async function unpackImage(
  content: Store,
  image: ImageManifest,
  options: UnpackOptions,
): Promise<UnpackResult> {
  const unpack = await ManifestUnpack.create(content, image, options);
  try {
    const result = await unpack.finish();
    await labelConfig(content, image, options.snapshotter);
    return result;
  } catch (err) {
    await unpack.abort(err);
    throw err;
  }
}

/**
 * A pool to share between the unpacks of one operation (a pull of several platforms, an
 * import of several images): `maxConcurrentUnpacks` workers, default one per CPU.
 */
export function createUnpackPool(options: { readonly maxConcurrentUnpacks?: number }): ApplyPool {
  const { maxConcurrentUnpacks: size } = options;
  return createApplyPool(size === undefined ? {} : { size });
}

/** Records on the config which snapshot holds the image's rootfs (a GC reference). */
export async function labelConfig(
  content: Store,
  image: ImageManifest,
  sn: Snapshotter,
): Promise<void> {
  const key = snapshotGcLabel(sn.name);
  await content.update(image.config.digest, { [key]: image.chainIds.at(-1)! }, [`labels.${key}`]);
}
