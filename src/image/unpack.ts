import type { Store } from '../content/types.js';
import { snapshotGcLabel } from '../labels.js';
import type { ProgressEvent } from '../progress.js';
import type { Snapshotter } from '../snapshots/index.js';
import { type ApplyPool, createApplyPool } from '../unpack/index.js';
import type { ImageManifest } from './manifests.js';
import { ManifestUnpack, type UnpackResult } from './pipeline.js';

export interface UnpackOptions {
  readonly snapshotter: Snapshotter;
  /** Worker threads to apply layers in; default: a pool made (and closed) for this call. */
  readonly pool?: ApplyPool;
  /** Layers applied at once (default: the number of CPUs). */
  readonly maxConcurrentUnpacks?: number;
  /** `<root>/locks`: each layer unpacked once across processes (see PipelineOptions). */
  readonly lockDir?: string;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly onWarning?: (message: string) => void;
}

/**
 * Unpacks an image whose blobs are in the content store into committed snapshots named by
 * chainID, reusing those already committed, through the same pipeline as a pull (parallel
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
  const pool = options.pool ?? createApplyPool(poolSize(options));
  try {
    const unpack = await ManifestUnpack.create(image, { ...options, content, pool });
    try {
      const result = await unpack.finish();
      await labelConfig(content, image, options.snapshotter);
      return result;
    } catch (err) {
      await unpack.abort(err);
      throw err;
    }
  } finally {
    if (!options.pool) await pool.close();
  }
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

export function poolSize(options: { readonly maxConcurrentUnpacks?: number }): { size?: number } {
  return options.maxConcurrentUnpacks === undefined ? {} : { size: options.maxConcurrentUnpacks };
}
