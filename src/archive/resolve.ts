import { detectCompression } from '../apply/index.js';
import type { Store } from '../content/index.js';
import { readBlob, writeBlob } from '../content/index.js';
import { fail } from '../errors.js';
import {
  type ArtifactNode,
  type ChildDecision,
  describeImage,
  type ImageManifest,
  type IndexNode,
  type ManifestNode,
  storeReader,
  type Visitor,
  walkImage,
} from '../image/index.js';
import { childGcLabels } from '../labels.js';
import type { Descriptor } from '../oci/index.js';
import {
  type Digest,
  digestOf,
  formatPlatform,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  MediaType,
  type PlatformMatcher,
  parseAny,
  parseConfig,
} from '../oci/index.js';
import { type ArchiveContents, missingBlob } from './contents.js';
import {
  checkLayoutFile,
  type DockerEntry,
  dockerSchema2Manifest,
  parseDockerManifest,
  parseIndexFile,
} from './layout.js';
import { ANNOTATION_REF_NAME, dockerEntryNames, entryName } from './names.js';

/**
 * Turning what an archive holds into images to record: the OCI layout's `index.json`
 * entries (preferred, as containerd does, when `oci-layout` is there) or docker-save's
 * `manifest.json` entries (a docker schema2 manifest is built for each, byte for byte the
 * one containerd builds). Each image is walked down to the platforms selected, checking
 * that every blob is stored with its descriptor's size; the GC labels a pull would write
 * are gathered, to be set once the whole archive checked out.
 */
export interface ResolvedImage {
  readonly name: string;
  readonly target: Descriptor;
  /** The image manifests kept: selected and present in the archive. */
  readonly manifests: readonly ImageManifest[];
}

export interface Resolution {
  readonly images: readonly ResolvedImage[];
  /** Every layer the images need, to be ensured (ingested from a directory) next. */
  readonly layers: readonly Descriptor[];
  /** Labels per blob: `containerd.io/gc.ref.content.*`. */
  readonly labels: ReadonlyMap<Digest, Record<string, string>>;
}

export interface ResolveOptions {
  readonly matcher: PlatformMatcher;
  readonly all: boolean;
  readonly baseName?: string;
  readonly onWarning?: (message: string) => void;
}

/**
 * @throws InvalidArgument (malformed archive or names), NotFound (missing blobs, no image
 *   for the platform), FailedPrecondition (unsupported layout version)
 */
export async function resolveArchive(
  contents: ArchiveContents,
  content: Store,
  options: ResolveOptions,
): Promise<Resolution> {
  const { archive } = contents;
  const out = new Collected();
  if (contents.layoutFile || contents.indexFile) {
    if (contents.layoutFile) checkLayoutFile(contents.layoutFile, archive);
    if (!contents.indexFile) throw fail('InvalidArgument', `${archive}: index.json missing`);
    for (const entry of parseIndexFile(contents.indexFile, archive)) {
      await ociEntry(contents, content, options, entry, out);
    }
  } else if (contents.dockerManifest) {
    for (const entry of parseDockerManifest(contents.dockerManifest, archive)) {
      await dockerEntry(contents, content, options, entry, out);
    }
  } else {
    throw fail(
      'InvalidArgument',
      `${archive}: not an image archive (no oci-layout, index.json or manifest.json)`,
    );
  }
  if (out.images.size === 0) {
    throw fail('NotFound', `${archive}: no image for ${options.matcher.description}`);
  }
  return { images: [...out.images.values()], layers: [...out.layers.values()], labels: out.labels };
}

class Collected {
  readonly images = new Map<string, ResolvedImage>();
  readonly layers = new Map<Digest, Descriptor>();
  readonly labels = new Map<Digest, Record<string, string>>();

  add(
    names: readonly string[],
    target: Descriptor,
    manifests: ImageManifest[],
    walk: { readonly layers: Map<Digest, Descriptor>; readonly labels: LabelMap },
  ) {
    const plain = { mediaType: target.mediaType, digest: target.digest, size: target.size };
    for (const name of names) this.images.set(name, { name, target: plain, manifests });
    for (const [d, l] of walk.layers) this.layers.set(d, l);
    for (const [d, l] of walk.labels) this.labels.set(d, l);
  }
}

async function ociEntry(
  contents: ArchiveContents,
  content: Store,
  options: ResolveOptions,
  entry: Descriptor,
  out: Collected,
): Promise<void> {
  const { archive } = contents;
  if (!isManifestType(entry.mediaType) && !isIndexType(entry.mediaType)) {
    options.onWarning?.(`${archive}: entry ${entry.digest}: ${entry.mediaType} is not an image`);
    return;
  }
  if (!options.all && entry.platform && !options.matcher.match(entry.platform)) return;
  const walk = new ImportVisitor(contents, options.all);
  await walkImage(entry, {
    read: storeReader(content, (desc, { role }) => contents.ensure(desc, role)),
    visit: walk,
    matcher: options.matcher,
    all: options.all,
    subject: archive,
  });
  const manifests = walk.found;
  const kept = manifests.filter((m) => options.all || options.matcher.match(m.platform));
  // Nothing for the platforms asked; an artifact (no image config) is kept as pull keeps it.
  if (kept.length === 0 && (walk.images > 0 || walk.manifests === 0)) return;
  const name = entryName(entry.annotations, entry.digest, options.baseName, archive);
  if (name === undefined) {
    const tag = entry.annotations?.[ANNOTATION_REF_NAME];
    const why = tag ? `is named by a tag only (${JSON.stringify(tag)})` : 'has no name';
    throw fail(
      'InvalidArgument',
      `${archive}: image ${entry.digest} ${why}: give a base name (--base-name)`,
    );
  }
  out.add([name], entry, kept, walk);
}

type LabelMap = Map<Digest, Record<string, string>>;

/**
 * One entry's walk: its images, layers and labels, kept only if the entry is recorded. With
 * `all`, a child an index lists but the archive lacks is skipped (an export for one
 * platform); otherwise it is an error naming the index.
 */
class ImportVisitor implements Visitor {
  readonly found: ImageManifest[] = [];
  readonly layers = new Map<Digest, Descriptor>();
  readonly labels: LabelMap = new Map();
  /** Manifests walked, and those of images (with an image config). */
  manifests = 0;
  images = 0;

  constructor(
    private readonly contents: ArchiveContents,
    private readonly all: boolean,
  ) {}

  async child(child: Descriptor, parent: IndexNode): Promise<ChildDecision> {
    if (await this.contents.has(child)) return 'walk';
    if (this.all) return 'skip'; // an archive may hold some platforms of an index
    const platform = child.platform ? ` (${formatPlatform(child.platform)})` : '';
    const role = `manifest${platform} of index ${parent.descriptor.digest}:`;
    throw missingBlob(this.contents.archive, role, child.digest);
  }

  afterIndex(node: IndexNode, walked: readonly Descriptor[]): void {
    this.labels.set(node.descriptor.digest, childGcLabels(node.descriptor, { manifests: walked }));
  }

  async artifact(node: ArtifactNode): Promise<void> {
    await this.contents.ensure(node.descriptor, 'blob');
  }

  async manifest({ descriptor, manifest, imageConfig }: ManifestNode): Promise<void> {
    // An image config was brought in to be read; an artifact's is brought in now.
    if (!imageConfig) await this.contents.ensure(manifest.config, 'config');
    for (const layer of manifest.layers) this.layers.set(layer.digest, layer);
    this.labels.set(descriptor.digest, childGcLabels(descriptor, manifest));
    this.manifests++;
    if (!imageConfig) return; // an artifact, not an image
    this.images++;
    this.found.push(describeImage(descriptor, manifest, imageConfig));
  }
}

async function dockerEntry(
  contents: ArchiveContents,
  content: Store,
  options: ResolveOptions,
  entry: DockerEntry,
  out: Collected,
): Promise<void> {
  const { archive } = contents;
  const stored = await contents.member(entry.config);
  const config = { mediaType: MediaType.dockerConfig, ...stored };
  const bytes = await readBlob(content, config.digest, { maxSize: MAX_CONFIG_SIZE });
  const imageConfig = parseConfig(bytes, `${archive}: config ${entry.config}`);
  const layers: Descriptor[] = [];
  for (const [i, path] of entry.layers.entries()) {
    const layer = await contents.member(path);
    const mediaType = await layerMediaType(content, layer.digest);
    const diffId = imageConfig.rootfs.diff_ids[i];
    if (mediaType === MediaType.dockerLayer && diffId !== undefined && diffId !== layer.digest) {
      throw fail(
        'InvalidArgument',
        `${archive}: layer ${path}: digest ${layer.digest} is not its diffID ${diffId}`,
      );
    }
    layers.push({ mediaType, ...layer });
  }
  const manifestBytes = dockerSchema2Manifest(config, layers);
  const desc: Descriptor = {
    mediaType: MediaType.dockerManifest,
    digest: digestOf(manifestBytes),
    size: manifestBytes.byteLength,
  };
  const manifest = parseAny(manifestBytes, `${archive}: ${entry.config}`);
  if (manifest.kind !== 'manifest') throw fail('Internal', 'built a docker manifest as an index');
  const image = describeImage(desc, manifest.manifest, imageConfig);
  if (!options.all && !options.matcher.match(image.platform)) return;
  const names = dockerEntryNames(entry.repoTags, desc.digest, options.baseName, archive);
  if (names.length === 0) {
    throw fail(
      'InvalidArgument',
      `${archive}: image ${entry.config} has no RepoTags: give a base name (--base-name)`,
    );
  }
  await writeBlob(content, manifestBytes, { expected: desc.digest });
  out.add(names, desc, [image], {
    layers: new Map(layers.map((l) => [l.digest, l])),
    labels: new Map([[desc.digest, childGcLabels(desc, manifest.manifest)]]),
  });
}

/** A docker-save layer's media type, from its first bytes (containerd's detectLayerMediaType). */
async function layerMediaType(content: Store, digest: Digest): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await content.reader(digest, { length: 8 })) chunks.push(c as Buffer);
  switch (detectCompression(Buffer.concat(chunks))) {
    case 'gzip':
      return MediaType.dockerLayerGzip;
    case 'zstd':
      return MediaType.dockerLayerZstd;
    case 'none':
      return MediaType.dockerLayer;
  }
}
