import type { Provider } from '../content/index.js';
import { fail } from '../errors.js';
import type { Descriptor, Digest, Platform } from '../oci/index.js';
import {
  chainIds,
  formatPlatform,
  type ImageConfig,
  isLayerType,
  type Manifest,
  type PlatformMatcher,
} from '../oci/index.js';
import { storeReader } from './store-reader.js';
import { walkImage } from './walk.js';

/** One platform's image, read from the content store and checked for consistency. */
export interface ImageManifest {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly config: Descriptor;
  readonly imageConfig: ImageConfig;
  readonly platform: Platform;
  readonly layers: readonly Descriptor[];
  /** `rootfs.diff_ids`, one per layer. */
  readonly diffIds: readonly Digest[];
  /** The chainID of each layer's snapshot; the last one names the whole rootfs. */
  readonly chainIds: readonly Digest[];
}

export interface ManifestsOptions {
  readonly matcher: PlatformMatcher;
  /** Every matching platform of an index, not only the best. */
  readonly all?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * The image manifests under `target` (a manifest, or an index walked down to the platforms
 * the matcher selects), each with its config, layers, diffIDs and chainIDs.
 * @throws NotFound when a blob is missing or no manifest matches the platform;
 *   InvalidArgument when a document is malformed, nested too deeply, not an image (an
 *   artifact manifest), or its layers and diffIDs disagree.
 */
export async function imageManifests(
  content: Provider,
  target: Descriptor,
  options: ManifestsOptions,
): Promise<ImageManifest[]> {
  const found: ImageManifest[] = [];
  await walkImage(target, {
    read: storeReader(content),
    matcher: options.matcher,
    all: options.all ?? false,
    ...(options.signal ? { signal: options.signal } : {}),
    visit: {
      manifest({ descriptor, manifest, imageConfig }) {
        if (!imageConfig) {
          throw fail(
            'InvalidArgument',
            `manifest ${descriptor.digest}: config ${manifest.config.digest} has media type ${manifest.config.mediaType}: not an image`,
          );
        }
        found.push(describeImage(descriptor, manifest, imageConfig));
      },
    },
  });
  if (found.length === 0) {
    throw fail(
      'NotFound',
      `image ${target.digest}: no manifest for platform ${options.matcher.description}`,
    );
  }
  return found;
}

/**
 * An image manifest with its parsed config, checked for consistency: every layer has a
 * layer media type and the config lists one diffID per layer.
 * @throws InvalidArgument
 */
export function describeImage(
  descriptor: Descriptor,
  manifest: Manifest,
  imageConfig: ImageConfig,
): ImageManifest {
  const what = `manifest ${descriptor.digest}`;
  const odd = manifest.layers.find((l) => !isLayerType(l.mediaType));
  if (odd) {
    throw fail(
      'InvalidArgument',
      `${what}: layer ${odd.digest} has unsupported media type ${odd.mediaType}`,
    );
  }
  const layers = manifest.layers;
  const diffIds = imageConfig.rootfs.diff_ids;
  if (diffIds.length !== layers.length) {
    throw fail(
      'InvalidArgument',
      `${what}: ${layers.length} layers but the config lists ${diffIds.length} diff_ids`,
    );
  }
  return {
    descriptor,
    manifest,
    config: manifest.config,
    imageConfig,
    platform: descriptor.platform ?? configPlatform(imageConfig),
    layers,
    diffIds,
    chainIds: chainIds(diffIds),
  };
}

/** The platform an image config says it is for. */
export function configPlatform(config: ImageConfig): Platform {
  return {
    os: config.os,
    architecture: config.architecture,
    ...(config.variant ? { variant: config.variant } : {}),
  };
}

/** `linux/amd64` for messages. */
export function describePlatform(image: ImageManifest): string {
  return formatPlatform(image.platform);
}
