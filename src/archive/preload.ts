import type { Readable, Writable } from 'node:stream';
import { fail, isCode, throwIfAborted } from '../errors.js';
import { fetchImage } from '../fetch/index.js';
import { storeReader, walkImage } from '../image/index.js';
import { childGcLabels } from '../labels.js';
import type { Descriptor, Digest } from '../oci/index.js';
import {
  formatReference,
  isIndexType,
  onlyPlatform,
  parsePlatform,
  parseReference,
} from '../oci/index.js';
import { type Strata, underLease } from '../strata/index.js';
import { exportImages } from './export.js';
import { importArchive } from './import.js';
import type {
  ImportedImage,
  PreloadApplyOptions,
  PreloadCreateOptions,
  PreloadCreateResult,
} from './types.js';

/**
 * Preloading for machines without a registry: `preloadCreate` pulls a list of references
 * (blobs already stored are not fetched again) and writes them all into one bundle, an
 * ordinary strata OCI archive (so containerd and skopeo read it too); `preloadApply`
 * imports a bundle into a root and unpacks it. Applying is resumable (blobs committed by an
 * interrupted run are skipped, a half-written one continues) and applying twice changes
 * nothing the second time.
 */

/**
 * The references of a preload list: one per line, `#` starts a comment, blank lines
 * ignored; normalized, duplicates dropped.
 * @throws InvalidArgument naming the line.
 */
export function parsePreloadList(text: string, what = 'preload list'): string[] {
  const refs = new Set<string>();
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    if (/\s/.test(line)) {
      throw fail(
        'InvalidArgument',
        `${what}:${i + 1}: one reference per line, got ${JSON.stringify(line)}`,
      );
    }
    try {
      refs.add(formatReference(parseReference(line)));
    } catch (err) {
      if (!isCode(err)) throw err;
      throw fail(err.code, `${what}:${i + 1}: ${err.message}`, err);
    }
  }
  return [...refs];
}

/**
 * Pulls every reference (fetch only, no unpack), records the images, and writes them into
 * one bundle at `bundle` (a path, written atomically, or a stream).
 * @throws the errors of a pull and of `exportImages`; InvalidArgument for an empty list.
 */
export async function preloadCreate(
  strata: Strata,
  refs: readonly string[],
  bundle: string | Writable,
  options: PreloadCreateOptions = {},
): Promise<PreloadCreateResult> {
  if (refs.length === 0) throw fail('InvalidArgument', 'preload: the list names no image');
  return underLease(strata, 'preload create', async (leased) => {
    const names: string[] = [];
    for (const ref of refs) {
      throwIfAborted(options.signal);
      const fetched = await fetchPlatforms(leased, ref, options);
      leased.images.put({ name: fetched.name, target: fetched.target });
      names.push(fetched.name);
    }
    const platforms = options.platforms ?? [];
    const written = await exportImages(leased, names, bundle, {
      format: 'oci',
      ...(options.allPlatforms ? { allPlatforms: true } : { platforms }),
      ...pick(options, ['signal', 'onProgress', 'onWarning']),
    });
    return { ...written, refs: names };
  });
}

/**
 * Fetches `ref` for each platform asked (every platform with `allPlatforms`); an index keeps
 * GC labels for all the platforms fetched. A platform the image lacks is a warning unless
 * the image has none of them.
 */
async function fetchPlatforms(strata: Strata, ref: string, options: PreloadCreateOptions) {
  const common = {
    ...options.fetch,
    ...pick(options, ['signal', 'onProgress']),
  };
  if (options.allPlatforms) return fetchImage(strata, ref, { ...common, allPlatforms: true });
  const platforms = options.platforms?.length ? options.platforms : [undefined];
  let first: Awaited<ReturnType<typeof fetchImage>> | undefined;
  let failure: unknown;
  for (const platform of platforms) {
    try {
      const fetched = await fetchImage(strata, ref, {
        ...common,
        ...(platform ? { platform } : {}),
      });
      first ??= fetched;
      if (!isIndexType(fetched.target.mediaType)) break; // one manifest serves every platform
    } catch (err) {
      if (!isCode(err, 'NotFound') || platforms.length === 1) throw err;
      failure ??= err;
      options.onWarning?.(`${ref}: ${(err as Error).message}`);
    }
  }
  if (!first) throw failure;
  if (platforms.length > 1 && isIndexType(first.target.mediaType)) {
    await labelPlatforms(strata, first.target, platforms as string[]);
  }
  return first;
}

/** Each fetch labelled the index with its own platform: label it with them all. */
async function labelPlatforms(strata: Strata, index: Descriptor, platforms: readonly string[]) {
  const wanted = new Set<Digest>();
  let listed: readonly Descriptor[] = [];
  for (const p of platforms) {
    // The index's children for `p`, as the fetch for `p` selected them; none walked further.
    await walkImage(index, {
      read: storeReader(strata.content),
      matcher: onlyPlatform(parsePlatform(p)),
      visit: {
        index: (node) => {
          listed = node.index.manifests;
        },
        child: (child) => {
          wanted.add(child.digest);
          return 'skip';
        },
      },
    });
  }
  const present: Descriptor[] = [];
  for (const m of listed) {
    if (!wanted.has(m.digest)) continue;
    const stored = await strata.content.info(m.digest).catch(() => undefined);
    if (stored) present.push(m);
  }
  const labels = childGcLabels(index, { manifests: present });
  await strata.content.update(
    index.digest,
    labels,
    Object.keys(labels).map((k) => `labels.${k}`),
  );
}

/**
 * Imports a bundle into `strata`'s root: every image and platform in it is recorded; with
 * `unpack` (default), each image's best match for `platform` (default: this host) is
 * unpacked. Returns what was loaded (`unchanged` entries on a second apply).
 */
export async function preloadApply(
  strata: Strata,
  bundle: string | Readable,
  options: PreloadApplyOptions = {},
): Promise<ImportedImage[]> {
  return importArchive(strata, bundle, {
    allPlatforms: true,
    unpack: options.unpack ?? true,
    // A bundle made for one other platform (a disk image for an arm64 board) unpacks as that.
    unpackSinglePlatform: options.platform === undefined,
    ...pick(options, [
      'platform',
      'snapshotter',
      'maxConcurrentUnpacks',
      'signal',
      'onProgress',
      'onWarning',
    ]),
  });
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<
    T,
    K
  >;
}
