import type { ApplyPool } from '../apply/index.js';
import type { Digest } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { Snapshotter } from '../snapshots/index.js';

/** How an image is unpacked: one options type for a pull's unpack and one from the store. */
export interface UnpackOptions {
  readonly snapshotter: Snapshotter;
  /**
   * Worker threads to apply layers in, shared across unpacks (a pull of several images);
   * default: a pool of `maxConcurrentUnpacks` workers made for this unpack and closed after.
   */
  readonly pool?: ApplyPool;
  /** Layers applied at once (default 2); the pool made for this unpack has as many workers. */
  readonly maxConcurrentUnpacks?: number;
  /**
   * A directory for cross-process locks (`<root>/locks`): with it, a layer is unpacked once
   * even when several processes pull the same image; the others wait and reuse it.
   */
  readonly lockDir?: string;
  readonly signal?: AbortSignal;
  /** Per layer: `unpacking` (with bytes when applied from the store), `unpacked`. */
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly onWarning?: (message: string) => void;
}

export interface UnpackResult {
  /** The snapshot holding the rootfs (the top layer's chainID). */
  readonly chainId: Digest;
  /** Layers applied by this unpack (the others were already committed). */
  readonly unpacked: number;
}
