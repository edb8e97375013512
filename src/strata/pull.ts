import { join } from 'node:path';
import { fetchImage, type ManifestFetched } from '../fetch/index.js';
import { collectGarbage } from '../gc/index.js';
import { describeImage, imageManifests } from '../image/index.js';
import { isLayerGcLabel } from '../labels.js';
import type { Image } from '../metadata/index.js';
import type { Descriptor } from '../oci/index.js';
import { platformMatcher } from '../oci/index.js';
import {
  createUnpackPool,
  labelConfig,
  ManifestUnpack,
  type UnpackOptions,
  unpackImage,
} from '../unpack/index.js';
import { underLease } from './lease.js';
import type { PullImageOptions, Strata } from './types.js';

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
  // Under a lease: a gc running meanwhile keeps what the pull writes before it records it.
  const { image, unpacked } = await underLease(strata, `pull ${ref}`, (leased) =>
    pullLeased(leased, ref, options),
  );
  if (options.discardUnpackedLayers && unpacked) await discardLayers(strata, unpacked);
  return image;
}

async function pullLeased(
  strata: Strata,
  ref: string,
  options: PullImageOptions,
): Promise<{ image: Image; unpacked?: Descriptor }> {
  if (options.unpack === false) {
    const fetched = await fetchImage(strata, ref, options);
    return { image: strata.images.put({ name: fetched.name, target: fetched.target }) };
  }
  const sn = await strata.snapshotter(options.snapshotter);
  await sn.cleanup(options.signal ? { signal: options.signal } : {}); // what crashed runs left
  const pool = createUnpackPool(options);
  const unpackOptions: UnpackOptions = {
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
              // An artifact (no image config) has nothing to unpack.
              if (!m.imageConfig) return;
              const image = describeImage(m.descriptor, m.manifest, m.imageConfig);
              unpack = await ManifestUnpack.create(strata.content, image, unpackOptions);
            },
            layerTap: (layer) => unpack?.tap(layer.index),
            onLayerFetched: async (layer) => unpack?.fetched(layer.index),
          }),
    });
    let unpacked: Descriptor | undefined;
    if (unpack) {
      await unpack.finish();
      await labelConfig(strata.content, unpack.image, sn);
      unpacked = unpack.image.descriptor;
    } else {
      unpacked = await unpackBest(strata, fetched.target, options, unpackOptions);
    }
    const image = strata.images.put({ name: fetched.name, target: fetched.target });
    return { image, ...(unpacked ? { unpacked } : {}) };
  } catch (err) {
    await unpack?.abort(err);
    throw err;
  } finally {
    await pool.close();
  }
}

/** `--all-platforms`: unpack the best match for the requested (or this host's) platform. */
async function unpackBest(
  strata: Strata,
  target: Descriptor,
  options: PullImageOptions,
  unpackOptions: UnpackOptions,
): Promise<Descriptor> {
  const matcher = platformMatcher(options.platform ? { platform: options.platform } : {});
  const [best] = await imageManifests(strata.content, target, {
    matcher,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await unpackImage(strata.content, best!, unpackOptions);
  return best!.descriptor;
}

/** `discardUnpackedLayers`: the manifest stops holding its layers; gc frees them. */
async function discardLayers(strata: Strata, manifest: Descriptor): Promise<void> {
  const info = await strata.content.info(manifest.digest);
  const layerLabels = Object.keys(info.labels).filter((k) => isLayerGcLabel(k));
  if (layerLabels.length === 0) return;
  await strata.content.update(
    manifest.digest,
    {},
    layerLabels.map((k) => `labels.${k}`),
  );
  await collectGarbage({ root: strata.root, db: strata.db, blobs: strata.blobs });
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<
    T,
    K
  >;
}
