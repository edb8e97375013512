import { join } from 'node:path';
import type { Image } from '../metadata/images.js';
import {
  type FetchOptions,
  fetchImage,
  type ManifestFetched,
  platformMatcher,
} from '../pull/index.js';
import type { Strata } from '../root.js';
import type { Snapshotter, SnapshotterName } from '../snapshots/index.js';
import { createApplyPool } from '../unpack/index.js';
import { describeImage, imageManifests } from './manifests.js';
import { ManifestUnpack } from './pipeline.js';
import { labelConfig, poolSize, unpackImage } from './unpack.js';

export interface PullImageOptions extends FetchOptions {
  /** Unpack into snapshots (default true); false only fetches (`--no-unpack`). */
  readonly unpack?: boolean;
  /** Default: overlay as root where overlayfs works, else native. */
  readonly snapshotter?: SnapshotterName;
  /** Layers applied at once, in worker threads (default: the number of CPUs). */
  readonly maxConcurrentUnpacks?: number;
  readonly onWarning?: (message: string) => void;
}

/**
 * Pulls an image into a root in one pass: each layer's bytes go to the content store and,
 * as they arrive, to its unpack (see ManifestUnpack); the image is recorded only once every
 * blob and every layer is verified and committed, so a failed pull records nothing. With
 * `allPlatforms`, every platform is fetched and the best match for `platform` (default:
 * this host) is unpacked afterwards from the store.
 */
export async function pullImage(
  strata: Strata,
  ref: string,
  options: PullImageOptions = {},
): Promise<Image> {
  if (options.unpack === false) {
    const fetched = await fetchImage(strata, ref, options);
    return strata.images.put({ name: fetched.name, target: fetched.target });
  }
  const sn = await strata.snapshotter(options.snapshotter);
  await sn.cleanup(options.signal ? { signal: options.signal } : {}); // what crashed runs left
  const pool = createApplyPool(poolSize(options));
  const pipeline = {
    content: strata.content,
    snapshotter: sn,
    pool,
    lockDir: join(strata.root, 'locks'),
    ...pick(options, ['signal', 'onProgress', 'onWarning', 'maxConcurrentUnpacks']),
  };
  let unpack: ManifestUnpack | undefined;
  try {
    const fetched = await fetchImage(strata, ref, {
      ...options,
      ...(options.allPlatforms
        ? {}
        : {
            onManifest: async (m: ManifestFetched) => {
              unpack = await startUnpack(m, pipeline);
            },
            layerTap: (layer) => unpack?.tap(layer.index),
            onLayerFetched: async (layer) => unpack?.fetched(layer.index),
          }),
    });
    if (unpack) {
      await unpack.finish();
      await labelConfig(strata.content, unpack.image, sn);
    } else {
      await unpackBest(strata, fetched.target, sn, options, pipeline);
    }
    return strata.images.put({ name: fetched.name, target: fetched.target });
  } catch (err) {
    await unpack?.abort(err);
    throw err;
  } finally {
    await pool.close();
  }
}

async function startUnpack(
  m: ManifestFetched,
  pipeline: Parameters<typeof ManifestUnpack.create>[1],
) {
  if (!m.imageConfig) return undefined; // not an image (an artifact): nothing to unpack
  return ManifestUnpack.create(describeImage(m.descriptor, m.manifest, m.imageConfig), pipeline);
}

/** `--all-platforms`: unpack the best match for the requested (or this host's) platform. */
async function unpackBest(
  strata: Strata,
  target: Parameters<typeof imageManifests>[1],
  sn: Snapshotter,
  options: PullImageOptions,
  pipeline: Omit<Parameters<typeof unpackImage>[2], 'snapshotter'>,
): Promise<void> {
  const matcher = platformMatcher(options.platform ? { platform: options.platform } : {});
  const [best] = await imageManifests(strata.content, target, {
    matcher,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await unpackImage(strata.content, best!, { ...pipeline, snapshotter: sn });
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<
    T,
    K
  >;
}
