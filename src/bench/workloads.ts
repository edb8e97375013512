import { createReadStream, statSync } from 'node:fs';
import { importArchive } from '../archive/index.js';
import type { Store } from '../content/index.js';
import { copyToWriter, openWriter } from '../content/index.js';
import { fail, isCode } from '../errors.js';
import { type ImageManifest, imageManifests, storeReader, walkImage } from '../image/index.js';
import { type Descriptor, formatReference, parseReference, platformMatcher } from '../oci/index.js';
import { dockerCredentials } from '../registry/index.js';
import type { Strata } from '../strata/index.js';
import { layoutBlobPath, layoutIndex, refNameOf } from './oci-layout.js';
import { findProfile } from './profiles.js';
import type { WorkloadInfo } from './results.js';
import { storeProfile } from './synthetic.js';

/**
 * The images a benchmark runs on, put into the bench root's content store before anything
 * is measured: synthetic profiles (generated from the seed), images pulled from a
 * registry (fetch only), or images read from an OCI layout directory (`oci:DIR[:NAME]`) or
 * an archive (`archive:FILE`: OCI layout tar or docker-save tar, as `strata import` reads).
 */

export interface Workload {
  readonly info: WorkloadInfo;
  readonly image: ImageManifest;
}

/** The registry unqualified `--image` references resolve against: the lab registry. */
export const DEFAULT_BENCH_REGISTRY = '127.0.0.1:5000';

/**
 * A `--image` reference with its registry: a reference whose first component is not a
 * host (no `.` or `:`, not `localhost`: Docker's rule) is looked up on `registry`, so
 * `lab/nodeapp` is `127.0.0.1:5000/lab/nodeapp:latest` by default. With `registry`
 * `docker.io`, references normalize as Docker does (`alpine` = docker.io/library/alpine).
 * @throws InvalidArgument for a malformed reference
 */
export function benchReference(input: string, registry: string): string {
  const slash = input.indexOf('/');
  const first = slash < 0 ? '' : input.slice(0, slash);
  const qualified =
    slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  const full = qualified || registry === 'docker.io' ? input : `${registry}/${input}`;
  return formatReference(parseReference(full));
}

export interface LoadOptions {
  readonly seed: number;
  readonly registry: string;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

/** Generates a synthetic profile into the content store. */
export async function profileWorkload(
  strata: Strata,
  name: string,
  options: LoadOptions,
): Promise<Workload> {
  const profile = findProfile(name);
  const stored = await storeProfile(strata.content, profile, {
    seed: options.seed,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const { image } = stored;
  return {
    image,
    info: {
      name,
      kind: 'profile',
      description: profile.description,
      source: `generated, seed ${options.seed}`,
      manifest: image.descriptor.digest,
      layers: image.layers.length,
      blobBytes: image.layers.reduce((n, l) => n + l.size, 0),
      tarBytes: stored.tarBytes,
      entries: stored.entries,
    },
  };
}

/**
 * Pulls (fetch only) a reference, or reads `oci:DIR[:NAME]` (an OCI layout directory) or
 * `archive:FILE` (an archive `strata import` reads), into the content store.
 */
export async function imageWorkload(
  strata: Strata,
  spec: string,
  options: LoadOptions,
): Promise<Workload> {
  const matcher = platformMatcher({});
  let target: Descriptor;
  let source: string;
  if (spec.startsWith('oci:')) {
    const layout = parseLayoutSpec(spec.slice(4));
    target = await importLayout(strata.content, layout.dir, layout.name, options.signal);
    source = spec;
  } else if (spec.startsWith('archive:')) {
    target = await importOne(strata, spec.slice(8), options.signal);
    source = spec;
  } else {
    source = benchReference(spec, options.registry);
    const image = await strata.pull(source, {
      unpack: false,
      credentials: dockerCredentials(),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    target = image.target;
  }
  const [image] = await imageManifests(strata.content, target, {
    matcher,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    image: image!,
    info: {
      name: spec.startsWith('oci:') ? (parseLayoutSpec(spec.slice(4)).name ?? spec) : spec,
      kind: 'image',
      description: `image ${source}`,
      source,
      manifest: image!.descriptor.digest,
      layers: image!.layers.length,
      blobBytes: image!.layers.reduce((n, l) => n + l.size, 0),
    },
  };
}

/**
 * The one image of an archive (`strata import`'s formats: OCI layout tar or directory,
 * docker-save tar; plain, gzip or zstd), imported without unpacking.
 * @throws InvalidArgument when the archive holds several images; what importArchive throws
 */
async function importOne(strata: Strata, file: string, signal?: AbortSignal): Promise<Descriptor> {
  const imported = await importArchive(strata, file, {
    baseName: 'strata-bench/archive',
    ...(signal ? { signal } : {}),
  });
  if (imported.length !== 1) {
    const names = imported.map((i) => i.image.name).join(', ');
    throw fail(
      'InvalidArgument',
      `archive ${file}: ${imported.length} images (${names}), want one`,
    );
  }
  return imported[0]!.image.target;
}

/** `DIR` or `DIR:NAME` (skopeo's `oci:` syntax); the split is where DIR is a directory. */
function parseLayoutSpec(text: string): { dir: string; name?: string } {
  const colon = text.lastIndexOf(':');
  if (colon > 0 && !isDirectory(text) && isDirectory(text.slice(0, colon))) {
    return { dir: text.slice(0, colon), name: text.slice(colon + 1) };
  }
  return { dir: text };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Copies the image `name` of an OCI layout (its platform's blobs) into the store. */
async function importLayout(
  content: Store,
  dir: string,
  name: string | undefined,
  signal?: AbortSignal,
): Promise<Descriptor> {
  const index = await layoutIndex(dir);
  if (!index) throw fail('NotFound', `oci layout ${dir}: no index.json`);
  const named = index.filter((m) => name === undefined || refNameOf(m) === name);
  if (named.length !== 1) {
    const names = index.map((m) => refNameOf(m) ?? m.digest);
    throw fail(
      'NotFound',
      `oci layout ${dir}: ${name === undefined ? 'several images, name one' : `no image ${name}`} (${names.join(', ')})`,
    );
  }
  await copyTree(content, dir, named[0]!, signal);
  return named[0]!;
}

/** Copies a descriptor and what it references (this platform only, below an index). */
async function copyTree(content: Store, dir: string, desc: Descriptor, signal?: AbortSignal) {
  const copy = (d: Descriptor) => copyBlob(content, dir, d, signal);
  await walkImage(desc, {
    read: storeReader(content, copy),
    matcher: platformMatcher({}),
    subject: `oci layout ${dir}`,
    ...(signal ? { signal } : {}),
    visit: {
      artifact: (node) => copy(node.descriptor),
      manifest: async ({ manifest }) => {
        for (const child of [manifest.config, ...manifest.layers]) await copy(child);
      },
    },
  });
}

async function copyBlob(content: Store, dir: string, desc: Descriptor, signal?: AbortSignal) {
  let writer: Awaited<ReturnType<typeof openWriter>>;
  try {
    writer = await openWriter(content, {
      ref: desc.digest,
      expected: desc.digest,
      total: desc.size,
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (isCode(err, 'AlreadyExists')) return;
    throw err;
  }
  try {
    await writer.truncate(0);
    await copyToWriter(createReadStream(layoutBlobPath(dir, desc.digest)), writer, signal);
    await writer.commit({ size: desc.size, expected: desc.digest });
  } catch (err) {
    if (!isCode(err, 'AlreadyExists')) throw err;
  } finally {
    await writer.close();
  }
}
