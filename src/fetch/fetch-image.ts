import { readBlob } from '../content/index.js';
import { fail } from '../errors.js';
import {
  type ArtifactNode,
  configPlatform,
  type ImageReader,
  type IndexNode,
  type ManifestNode,
  type Visitor,
  walkImage,
} from '../image/index.js';
import { childGcLabels } from '../labels.js';
import type { Descriptor, PlatformMatcher } from '../oci/index.js';
import { formatReference, isIndexType, parseReference, platformMatcher } from '../oci/index.js';
import { createRegistryClient, dockerCredentials } from '../registry/index.js';
import { type FailFast, failFast } from './fail-fast.js';
import { createLimiter } from './limiter.js';
import { type BlobContext, ensureBlob, storeManifest } from './store.js';
import type { FetchOptions, FetchResult, FetchTarget } from './types.js';

/**
 * Fetches an image into a content store: resolve the reference, fetch the index (if any),
 * select platforms, fetch each manifest, its config and its layers (bounded concurrency,
 * shared blobs fetched once), and label content the way containerd does. Children are
 * stored before their parents, so a stored manifest always has its blobs; a failed or
 * cancelled fetch keeps partial ingests for the next run to resume. Recording an image is
 * the caller's (the pull operation, `strata/pull.ts`).
 * @throws InvalidArgument (reference, platform, a malformed document, indexes nested too
 *   deeply), NotFound (image or platform),
 *   FailedPrecondition (digest mismatch, schema1), Unauthenticated, PermissionDenied,
 *   Unavailable, Aborted
 */
export async function fetchImage(
  target: FetchTarget,
  ref: string,
  options: FetchOptions = {},
): Promise<FetchResult> {
  const parsed = parseReference(ref);
  const name = formatReference(parsed);
  const matcher = platformMatcher(options);
  const client =
    options.client ??
    createRegistryClient({
      ...pick(options, ['hostsDir', 'plainHttp', 'retry', 'timeoutMs', 'userAgent']),
      credentials: options.credentials ?? dockerCredentials(),
    });
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal?.reason);
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) onAbort();
  try {
    const repo = await client.repository(parsed);
    const emit = options.onProgress ?? (() => {});
    emit({ phase: 'resolving', id: name });
    const top = await repo.resolve({ signal: controller.signal });
    emit({ phase: 'resolved', id: name, message: top.digest, kind: kindOf(top) });
    const ctx: BlobContext = {
      content: target.content,
      repo,
      limiter: createLimiter(Math.max(1, options.maxConcurrentDownloads ?? 3)),
      signal: controller.signal,
      emit,
    };
    const fetch = await walkFetch(ctx, top, { name, matcher, options, controller });
    if (fetch.manifests.length === 0) {
      throw fail('NotFound', `${name}: no manifest for ${matcher.description}`);
    }
    return {
      ref: parsed,
      name,
      target: top,
      manifests: fetch.manifests,
      blobs: [...fetch.blobs.values()],
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!options.client) await client.close();
  }
}

/** Walks the image from the registry into the store; children fetched concurrently. */
async function walkFetch(
  ctx: BlobContext,
  top: Descriptor,
  s: { name: string; matcher: PlatformMatcher; options: FetchOptions; controller: AbortController },
): Promise<FetchVisitor> {
  const group = failFast(s.controller);
  const fetch = new FetchVisitor(ctx, s.name, s.options, group);
  await walkImage(top, {
    read: fetch.read,
    visit: fetch,
    matcher: s.matcher,
    all: s.options.allPlatforms === true,
    signal: ctx.signal,
    subject: s.name,
    runChildren: (tasks) => group.all(tasks),
  });
  return fetch;
}

function pick<T extends object, K extends keyof T>(o: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]])) as Pick<
    T,
    K
  >;
}

function kindOf(desc: Descriptor): string {
  return isIndexType(desc.mediaType) ? 'index' : 'manifest';
}

/**
 * What the fetch does at each node of the walk: documents come from the registry, configs
 * and layers go into the store (an image config is read back from there), and each
 * manifest and index is stored once its children are, with its GC labels.
 */
class FetchVisitor implements Visitor {
  readonly manifests: Descriptor[] = [];
  readonly blobs = new Map<string, Descriptor>();
  private readonly pending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly ctx: BlobContext,
    private readonly name: string,
    private readonly options: FetchOptions,
    private readonly group: FailFast,
  ) {}

  /** The registry reader: documents fetched by digest; a config fetched into the store first. */
  readonly read: ImageReader = async (desc, { role, maxSize, signal }) => {
    const call = signal ? { signal } : {};
    if (role === 'config') {
      await this.blob(desc, 'config');
      return readBlob(this.ctx.content, desc.digest, { maxSize, ...call });
    }
    this.blobs.set(desc.digest, desc);
    return this.ctx.repo.fetchManifest(desc, call);
  };

  async afterIndex(node: IndexNode, walked: readonly Descriptor[]): Promise<void> {
    const labels = childGcLabels(node.descriptor, { manifests: walked });
    await storeManifest(this.ctx, node.descriptor, node.bytes, 'index', labels);
  }

  /** Anything else an index points at (an artifact) is fetched, not read. */
  async artifact(node: ArtifactNode): Promise<void> {
    await this.blob(node.descriptor, 'blob');
  }

  async manifest(node: ManifestNode): Promise<void> {
    const { descriptor: desc, manifest, imageConfig } = node;
    await this.blob(manifest.config, 'config'); // an artifact's config too (not read)
    const platform = desc.platform ?? (imageConfig ? configPlatform(imageConfig) : undefined);
    const common = {
      name: this.name,
      config: manifest.config,
      ...(imageConfig ? { imageConfig } : {}),
      ...(platform ? { platform } : {}),
    };
    const { onManifest, onLayerFetched, layerTap } = this.options;
    await onManifest?.({ ...common, descriptor: desc, manifest }, { signal: this.ctx.signal });
    await this.group.all(
      manifest.layers.map((layer, index) => async () => {
        const diffId = imageConfig?.rootfs.diff_ids[index];
        const fetched = { ...common, manifest: desc, index, layer, ...(diffId ? { diffId } : {}) };
        await this.once(layer, () =>
          ensureBlob(this.ctx, layer, 'layer', {}, layerTap && (() => layerTap(fetched))),
        );
        await onLayerFetched?.(fetched, { signal: this.ctx.signal });
      }),
    );
    await storeManifest(this.ctx, desc, node.bytes, 'manifest', childGcLabels(desc, manifest));
    this.manifests.push(desc);
  }

  private async blob(desc: Descriptor, kind: string): Promise<void> {
    await this.once(desc, () => ensureBlob(this.ctx, desc, kind));
  }

  /** Runs each digest's work once, however many manifests share it. */
  private async once(desc: Descriptor, work: () => Promise<unknown>): Promise<void> {
    let p = this.pending.get(desc.digest);
    if (!p) {
      p = work();
      this.pending.set(desc.digest, p);
      this.blobs.set(desc.digest, desc);
    }
    await p;
  }
}
