import { readBlob } from '../content/index.js';
import { fail } from '../errors.js';
import { childGcLabels } from '../labels.js';
import type { Descriptor, PlatformMatcher } from '../oci/index.js';
import {
  formatReference,
  type ImageConfig,
  isConfigType,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  type Manifest,
  parseAny,
  parseConfig,
  parseReference,
  platformMatcher,
  selectManifests,
} from '../oci/index.js';
import { createRegistryClient, dockerCredentials } from '../registry/index.js';
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
 * @throws InvalidArgument (reference, platform), NotFound (image or platform),
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
    const walker = new Walker(
      {
        content: target.content,
        repo,
        limiter: createLimiter(Math.max(1, options.maxConcurrentDownloads ?? 3)),
        signal: controller.signal,
        emit,
      },
      { name, matcher, all: options.allPlatforms === true, options, controller },
    );
    await walker.handle(top);
    if (walker.manifests.length === 0) {
      throw fail('NotFound', `${name}: no manifest for ${matcher.description}`);
    }
    return {
      ref: parsed,
      name,
      target: top,
      manifests: walker.manifests,
      blobs: [...walker.blobs.values()],
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!options.client) await client.close();
  }
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

interface WalkSettings {
  readonly name: string;
  readonly matcher: PlatformMatcher;
  readonly all: boolean;
  readonly options: FetchOptions;
  readonly controller: AbortController;
}

class Walker {
  readonly manifests: Descriptor[] = [];
  readonly blobs = new Map<string, Descriptor>();
  private readonly pending = new Map<string, Promise<unknown>>();
  private firstError: unknown;

  constructor(
    private readonly ctx: BlobContext,
    private readonly s: WalkSettings,
  ) {}

  /** Fetches `desc` and what it references; stores `desc` last. */
  async handle(desc: Descriptor): Promise<void> {
    await this.once(desc, async () => {
      const bytes = await this.ctx.repo.fetchManifest(desc, { signal: this.ctx.signal });
      const parsed = parseAny(bytes, `${this.s.name}: ${desc.digest}`, desc.mediaType);
      if (parsed.kind === 'index') {
        const children = selectManifests(parsed.index.manifests, this.s.matcher, this.s.all);
        await this.all(children.map((child) => () => this.child(child)));
        await storeManifest(
          this.ctx,
          desc,
          bytes,
          'index',
          childGcLabels(desc, { manifests: children }),
        );
      } else {
        await this.manifest(desc, parsed.manifest, bytes);
      }
    });
  }

  private async child(desc: Descriptor): Promise<void> {
    if (isManifestType(desc.mediaType) || isIndexType(desc.mediaType)) return this.handle(desc);
    // Anything else an index points at (an artifact) is fetched, not read.
    await this.blob(desc, 'blob');
  }

  private async manifest(desc: Descriptor, manifest: Manifest, bytes: Buffer): Promise<void> {
    await this.blob(manifest.config, 'config');
    const imageConfig = await this.readConfig(manifest.config);
    const platform =
      desc.platform ??
      (imageConfig
        ? {
            os: imageConfig.os,
            architecture: imageConfig.architecture,
            ...(imageConfig.variant ? { variant: imageConfig.variant } : {}),
          }
        : undefined);
    const common = {
      name: this.s.name,
      config: manifest.config,
      ...(imageConfig ? { imageConfig } : {}),
      ...(platform ? { platform } : {}),
    };
    const { onManifest, onLayerFetched, layerTap } = this.s.options;
    await onManifest?.({ ...common, descriptor: desc, manifest }, { signal: this.ctx.signal });
    await this.all(
      manifest.layers.map((layer, index) => async () => {
        const diffId = imageConfig?.rootfs.diff_ids[index];
        const fetched = { ...common, manifest: desc, index, layer, ...(diffId ? { diffId } : {}) };
        await this.once(layer, () =>
          ensureBlob(this.ctx, layer, 'layer', {}, layerTap && (() => layerTap(fetched))),
        );
        await onLayerFetched?.(fetched, { signal: this.ctx.signal });
      }),
    );
    await storeManifest(this.ctx, desc, bytes, 'manifest', childGcLabels(desc, manifest));
    this.manifests.push(desc);
  }

  private async readConfig(desc: Descriptor): Promise<ImageConfig | undefined> {
    if (!isConfigType(desc.mediaType)) return undefined;
    const bytes = await readBlob(this.ctx.content, desc.digest, { maxSize: MAX_CONFIG_SIZE });
    return parseConfig(bytes, `${this.s.name}: config ${desc.digest}`);
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

  /**
   * Runs tasks concurrently; on the first failure cancels the rest and waits for them, so
   * nothing is left writing after the pull returns.
   */
  private async all(tasks: readonly (() => Promise<void>)[]): Promise<void> {
    const results = await Promise.allSettled(
      tasks.map((task) =>
        task().catch((err: unknown) => {
          this.firstError ??= err;
          if (!this.s.controller.signal.aborted) this.s.controller.abort(err);
          throw err;
        }),
      ),
    );
    // Report the first real failure, not the cancellations it caused.
    if (results.some((r) => r.status === 'rejected')) throw this.firstError;
  }
}
