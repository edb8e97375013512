import type { Image } from '../metadata/images.js';
import { type FetchOptions, fetchImage, platformMatcher } from '../pull/index.js';
import type { Strata } from '../root.js';
import type { SnapshotterName } from '../snapshots/index.js';
import { imageManifests } from './manifests.js';
import { unpackImage } from './unpack.js';

export interface PullImageOptions extends FetchOptions {
  /** Unpack into snapshots (default true); false only fetches (`--no-unpack`). */
  readonly unpack?: boolean;
  /** Default: overlay as root where overlayfs works, else native. */
  readonly snapshotter?: SnapshotterName;
  readonly onWarning?: (message: string) => void;
}

/**
 * Pulls an image into a root: fetch everything (verified), unpack the selected platform's
 * layers into snapshots, and only then record the image, so a failed pull or unpack
 * records nothing. With `allPlatforms`, every platform is fetched and the best match for
 * `platform` (default: this host) is unpacked.
 */
export async function pullImage(
  strata: Strata,
  ref: string,
  options: PullImageOptions = {},
): Promise<Image> {
  const sn = options.unpack === false ? undefined : await strata.snapshotter(options.snapshotter);
  const fetched = await fetchImage(strata, ref, options);
  if (sn) {
    const matcher = platformMatcher({
      ...(options.platform ? { platform: options.platform } : {}),
    });
    const signal = options.signal;
    const [image] = await imageManifests(strata.content, fetched.target, {
      matcher,
      ...(signal ? { signal } : {}),
    });
    await unpackImage(strata.content, image!, {
      snapshotter: sn,
      ...(signal ? { signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
  }
  return strata.images.put({ name: fetched.name, target: fetched.target });
}
