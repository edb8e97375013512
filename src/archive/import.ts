import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ApplyPool } from '../apply/index.js';
import type { Store } from '../content/index.js';
import { fail, fromSystem, isCode } from '../errors.js';
import type { ImageManifest } from '../image/index.js';
import { type Image, write } from '../metadata/index.js';
import type { Digest } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import { type Strata, underLease } from '../strata/index.js';
import { createUnpackPool, type UnpackResult } from '../unpack/index.js';
import type { ArchiveContents, SourceContext } from './contents.js';
import { readDirContents } from './dir-source.js';
import { checkBaseName } from './names.js';
import { UnpackPlanner } from './one-pass.js';
import { type ResolvedImage, resolveArchive } from './resolve.js';
import { bestManifest, selectionOf, singleMatcher } from './selection.js';
import { readTarContents } from './tar-source.js';
import type { ImportedImage, ImportOptions } from './types.js';

/**
 * Imports an archive: an OCI layout (tar or directory, as skopeo, umoci, crane, buildah,
 * containerd and strata write them) or a docker-save tar (manifest.json 1.2, layers stored
 * or symlinked), plain, gzip or zstd. Every blob is verified on the way in; the images are
 * named from the archive (see `names.ts`), their blobs labelled as a pull labels them, with
 * `unpack` unpacked (during the read where the archive order allows), and recorded last,
 * together: a failed import records no image. Running it again after an interruption
 * resumes: committed blobs are skipped, a half-written blob continues from its ingest.
 *
 * With `allPlatforms`, every platform in the archive is kept and `platform` names the one
 * to unpack (as for a pull).
 * @throws InvalidArgument (corrupt or malicious archive, bad names), NotFound (missing
 *   blobs, no image for the platform), FailedPrecondition (digest mismatch), Aborted
 */
export async function importArchive(
  strata: Strata,
  source: string | Readable,
  options: ImportOptions & { readonly name?: string } = {},
): Promise<ImportedImage[]> {
  const archive = options.name ?? (typeof source === 'string' ? source : 'archive');
  return underLease(strata, `import ${archive}`, (leased) => run(leased, source, archive, options));
}

async function run(
  strata: Strata,
  source: string | Readable,
  archive: string,
  options: ImportOptions,
): Promise<ImportedImage[]> {
  const baseName = options.baseName === undefined ? undefined : checkBaseName(options.baseName);
  const { matcher, all } = selectionOf(options);
  const unpackMatcher = singleMatcher(options);
  const emit = options.onProgress ?? (() => {});
  let pool: ApplyPool | undefined;
  let planner: UnpackPlanner | undefined;
  if (options.unpack) {
    const sn = await strata.snapshotter(options.snapshotter);
    await sn.cleanup(options.signal ? { signal: options.signal } : {});
    pool = createUnpackPool(options);
    planner = new UnpackPlanner(
      strata.content,
      {
        snapshotter: sn,
        pool,
        // One unpack per layer across processes, as for a pull (flock per chainID).
        lockDir: join(strata.root, 'locks'),
        ...pick(options, ['signal', 'onProgress', 'onWarning', 'maxConcurrentUnpacks']),
      },
      unpackMatcher,
    );
  }
  try {
    const ctx: SourceContext = {
      content: strata.content,
      planner,
      emit,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const contents = await openContents(ctx, source, archive, emit);
    const resolved = await resolveArchive(contents, strata.content, {
      matcher,
      all,
      ...(baseName ? { baseName } : {}),
      ...(options.onWarning ? { onWarning: options.onWarning } : {}),
    });
    const unpacks = new Map<string, ImageManifest>();
    if (planner) {
      for (const image of resolved.images) {
        const best = toUnpack(image, unpackMatcher, archive, options.unpackSinglePlatform);
        if (best) unpacks.set(image.name, best);
      }
      for (const image of unpacks.values()) await planner.plan(image);
    }
    for (const layer of resolved.layers) await contents.ensure(layer, 'layer');
    const unpacked = planner ? await planner.finish([...unpacks.values()]) : new Map();
    // Labels and records last: an import that fails (a layer whose diffID is wrong) leaves
    // its verified blobs to its lease, not tied into the GC graph.
    await applyLabels(strata.content, resolved.labels);
    return record(strata, resolved.images, unpacks, unpacked);
  } catch (err) {
    await planner?.abort(err);
    throw named(err, archive);
  } finally {
    await pool?.close();
  }
}

async function openContents(
  ctx: SourceContext,
  source: string | Readable,
  archive: string,
  emit: (e: ProgressEvent) => void,
): Promise<ArchiveContents> {
  let total: number | undefined;
  let input: Readable = source as Readable;
  if (typeof source === 'string') {
    const s = await stat(source).catch((err: unknown) => {
      throw fromSystem(err, `archive ${source}`);
    });
    if (s.isDirectory()) return readDirContents(ctx, source);
    total = s.size;
    input = createReadStream(source, { highWaterMark: 1024 * 1024 });
  }
  let last = 0;
  const onBytes = (done: number) => {
    const now = Date.now();
    if (now - last < 100 && done !== total) return;
    last = now;
    emit({ phase: 'reading', id: archive, kind: 'archive', done, ...(total ? { total } : {}) });
  };
  return readTarContents(ctx, input, archive, onBytes);
}

/** The manifest of `image` to unpack; none for an artifact. */
function toUnpack(
  image: ResolvedImage,
  matcher: ReturnType<typeof singleMatcher>,
  archive: string,
  singlePlatform = false,
): ImageManifest | undefined {
  if (image.manifests.length === 0) return undefined;
  const best =
    bestManifest(image.manifests, matcher) ??
    (singlePlatform && image.manifests.length === 1 ? image.manifests[0] : undefined);
  if (!best) {
    throw fail(
      'NotFound',
      `${archive}: image ${image.name}: no manifest for ${matcher.description} to unpack (choose a platform)`,
    );
  }
  return best;
}

/** Sets the GC labels a pull sets, where they differ. */
async function applyLabels(
  content: Store,
  labels: ReadonlyMap<Digest, Record<string, string>>,
): Promise<void> {
  for (const [digest, wanted] of labels) {
    const current = await content.info(digest);
    const changed = Object.entries(wanted).some(([k, v]) => current.labels[k] !== v);
    if (!changed) continue;
    await content.update(
      digest,
      wanted,
      Object.keys(wanted).map((k) => `labels.${k}`),
    );
  }
}

/** Records every image in one transaction. */
function record(
  strata: Strata,
  images: readonly ResolvedImage[],
  unpacks: ReadonlyMap<string, ImageManifest>,
  unpacked: ReadonlyMap<Digest, UnpackResult>,
): ImportedImage[] {
  return write(strata.db, () =>
    images.map((r): ImportedImage => {
      let existing: Image | undefined;
      try {
        existing = strata.images.get(r.name);
      } catch (err) {
        if (!isCode(err, 'NotFound')) throw err;
      }
      const before = existing?.target.digest;
      const image =
        existing && before === r.target.digest
          ? existing // a second import of the same archive changes nothing
          : strata.images.put({ name: r.name, target: r.target });
      const manifest = unpacks.get(r.name);
      const result = manifest ? unpacked.get(manifest.descriptor.digest) : undefined;
      return {
        image,
        status:
          before === undefined ? 'created' : before === r.target.digest ? 'unchanged' : 'updated',
        ...(result && manifest
          ? {
              chainId: result.chainId,
              platform: manifest.platform,
              layersUnpacked: result.unpacked,
            }
          : {}),
      };
    }),
  );
}

/** Every failure names the archive first (an unpack's names only its layer). */
function named(err: unknown, archive: string): unknown {
  if (!isCode(err) || err.code === 'Aborted' || err.message.startsWith(`${archive}:`)) return err;
  return fail(err.code, `${archive}: ${err.message}`, err);
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<
    T,
    K
  >;
}
