import type { Provider } from '../content/index.js';
import { readBlob } from '../content/index.js';
import { fail, throwIfAborted } from '../errors.js';
import type { Descriptor, Digest, Platform } from '../oci/index.js';
import {
  chainIds,
  formatPlatform,
  type ImageConfig,
  isLayerType,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  type Manifest,
  type PlatformMatcher,
  parseAny,
  parseConfig,
  selectManifests,
} from '../oci/index.js';

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

/** Indexes nest; deeper than this is refused rather than followed. */
const MAX_DEPTH = 4;

/**
 * The image manifests under `target` (a manifest, or an index walked down to the platforms
 * the matcher selects), each with its config, layers, diffIDs and chainIDs.
 * @throws NotFound when a blob is missing or no manifest matches the platform;
 *   InvalidArgument when a document is malformed or layers and diffIDs disagree.
 */
export async function imageManifests(
  content: Provider,
  target: Descriptor,
  options: ManifestsOptions,
): Promise<ImageManifest[]> {
  const found: ImageManifest[] = [];
  const visit = async (desc: Descriptor, depth: number): Promise<void> => {
    throwIfAborted(options.signal);
    const what = `manifest ${desc.digest}`;
    const bytes = await readBlob(content, desc.digest, { maxSize: MAX_MANIFEST_SIZE });
    const parsed = parseAny(bytes, what, desc.mediaType);
    if (parsed.kind === 'manifest') {
      found.push(await imageOf(content, desc, parsed.manifest));
      return;
    }
    if (depth >= MAX_DEPTH) throw fail('InvalidArgument', `${what}: indexes nested too deeply`);
    const children = selectManifests(parsed.index.manifests, options.matcher, options.all ?? false);
    for (const child of children) await visit(child, depth + 1);
  };
  await visit(target, 0);
  if (found.length === 0) {
    throw fail(
      'NotFound',
      `image ${target.digest}: no manifest for platform ${options.matcher.description}`,
    );
  }
  return found;
}

async function imageOf(
  content: Provider,
  descriptor: Descriptor,
  manifest: Manifest,
): Promise<ImageManifest> {
  const configBytes = await readBlob(content, manifest.config.digest, { maxSize: MAX_CONFIG_SIZE });
  const imageConfig = parseConfig(configBytes, `config ${manifest.config.digest}`);
  return describeImage(descriptor, manifest, imageConfig);
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
    platform: descriptor.platform ?? {
      os: imageConfig.os,
      architecture: imageConfig.architecture,
      ...(imageConfig.variant ? { variant: imageConfig.variant } : {}),
    },
    layers,
    diffIds,
    chainIds: chainIds(diffIds),
  };
}

/** `linux/amd64` for messages. */
export function describePlatform(image: ImageManifest): string {
  return formatPlatform(image.platform);
}
