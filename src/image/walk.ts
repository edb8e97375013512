import { fail, throwIfAborted } from '../errors.js';
import type { Descriptor, Digest, ImageConfig, Index, Manifest } from '../oci/index.js';
import {
  isConfigType,
  isIndexType,
  isManifestType,
  MAX_CONFIG_SIZE,
  MAX_MANIFEST_SIZE,
  type PlatformMatcher,
  parseAny,
  parseConfig,
  selectManifests,
} from '../oci/index.js';

/**
 * The one walk of an image tree, as containerd's `core/images/handlers.go` (Walk, Dispatch,
 * ChildrenHandler, FilterPlatforms + LimitManifests): from a root descriptor, read each
 * index and manifest (capped, checked for media-type confusion), keep an index's children
 * for the platforms asked, read each image config, and tell a visitor what it finds. Where
 * the bytes come from is the reader's business (a registry, the content store, an archive);
 * what to do with each node (fetch, store, label, export, record) is the visitor's.
 *
 * Vocabulary: a *document* is an index or a manifest; an *artifact* is an index child that
 * is neither (fetched or copied, never read); a manifest whose config is not an image config
 * is walked like any manifest, without `imageConfig`.
 */

/** What a read is for: the role names the blob in messages (`manifest sha256:..`). */
export type ReadRole = 'index' | 'manifest' | 'config';

export interface ReadOptions {
  readonly role: ReadRole;
  /** The most bytes the walk accepts for this role (MAX_MANIFEST_SIZE or MAX_CONFIG_SIZE). */
  readonly maxSize: number;
  readonly signal?: AbortSignal;
}

/**
 * Reads a document or an image config the walk needs, verified against its digest. It may
 * bring the blob into a store first (fetch it, copy it from an archive).
 * @throws NotFound when the blob is not there (the reader's message names it)
 */
export type ImageReader = (desc: Descriptor, options: ReadOptions) => Promise<Buffer>;

/** An index, read, with the children the platform selection keeps. */
export interface IndexNode {
  readonly kind: 'index';
  readonly descriptor: Descriptor;
  /** 0 for the root. */
  readonly depth: number;
  /** The index that led here (the first one, when several list it); none for the root. */
  readonly parent?: Descriptor;
  readonly bytes: Buffer;
  readonly index: Index;
  /** The children kept for the platforms asked (best first, only the best unless `all`). */
  readonly children: readonly Descriptor[];
}

/** A manifest, read, with its image config when the config is one. */
export interface ManifestNode {
  readonly kind: 'manifest';
  readonly descriptor: Descriptor;
  readonly depth: number;
  readonly parent?: Descriptor;
  readonly bytes: Buffer;
  readonly manifest: Manifest;
  readonly config: Descriptor;
  /**
   * The parsed config when `config` has an image config media type (unless the visitor
   * skipped it); none for an artifact.
   */
  readonly imageConfig?: ImageConfig;
}

/** An index child that is not a document (an artifact blob): not read by the walk. */
export interface ArtifactNode {
  readonly kind: 'artifact';
  readonly descriptor: Descriptor;
  readonly depth: number;
  readonly parent: Descriptor;
}

export type WalkNode = IndexNode | ManifestNode | ArtifactNode;

/** `walk` descends into a child; `skip` leaves it (and all it references) out. */
export type ChildDecision = 'walk' | 'skip';

/**
 * What a caller does at each node; every hook is optional and may be async (the walk
 * awaits it). Order: `index` before the index's children, `afterIndex` once they are all
 * walked (post-order: store or label a parent after its children); a manifest's hook runs
 * once its config is read. A document or artifact listed by several indexes is visited once.
 */
export interface Visitor {
  /** A selected child of `parent`, before it is read; decide whether to walk it. */
  child?(child: Descriptor, parent: IndexNode): ChildDecision | Promise<ChildDecision>;
  /**
   * A manifest's image config, before it is read: `skip` leaves `imageConfig` out (a
   * listing of what is stored skips a config that is not).
   */
  config?(config: Descriptor, manifest: Descriptor): ChildDecision | Promise<ChildDecision>;
  index?(node: IndexNode): void | Promise<void>;
  /** After the index's children; `walked` = its children not skipped, in index order. */
  afterIndex?(node: IndexNode, walked: readonly Descriptor[]): void | Promise<void>;
  manifest?(node: ManifestNode): void | Promise<void>;
  artifact?(node: ArtifactNode): void | Promise<void>;
}

/** Runs the walks of an index's children. */
export type RunChildren = (tasks: readonly (() => Promise<void>)[]) => Promise<void>;

export interface WalkOptions {
  readonly read: ImageReader;
  readonly visit: Visitor;
  /** Which children of an index to keep. */
  readonly matcher: PlatformMatcher;
  /** Every matching child, not only the best. */
  readonly all?: boolean;
  /** Indexes below the root that may nest (default 4); an index deeper is refused. */
  readonly maxDepth?: number;
  /** Checked at each node, and handed to the reader. */
  readonly signal?: AbortSignal;
  /** What messages name first (`image NAME`, an archive's path); default none. */
  readonly subject?: string;
  /**
   * How an index's children are walked; default one after another, in order. A fetch
   * passes a concurrent runner that cancels the others on the first failure.
   */
  readonly runChildren?: RunChildren;
}

/** Indexes nest; deeper than this is refused rather than followed. */
const DEFAULT_MAX_DEPTH = 4;

const sequentially: RunChildren = async (tasks) => {
  for (const task of tasks) await task();
};

/**
 * Walks the image tree under `root` (an index or a manifest), telling `options.visit` what
 * it finds; see Visitor for the order.
 * @throws InvalidArgument for a malformed or oversized document, media-type confusion, or an
 *   index nested deeper than `maxDepth` (naming that index); FailedPrecondition for docker
 *   schema1; Aborted; and whatever the reader (NotFound for a missing blob) and the visitor
 *   throw.
 */
export async function walkImage(root: Descriptor, options: WalkOptions): Promise<void> {
  const walk = new ImageWalk(options);
  await walk.once(root, () => walk.document(root, 0));
}

class ImageWalk {
  private readonly seen = new Map<Digest, Promise<void>>();
  private readonly prefix: string;
  private readonly runChildren: RunChildren;

  constructor(private readonly o: WalkOptions) {
    this.prefix = o.subject === undefined ? '' : `${o.subject}: `;
    this.runChildren = o.runChildren ?? sequentially;
  }

  /** Visits `desc` once per walk: a second parent waits for the first visit. */
  once(desc: Descriptor, visit: () => Promise<void>): Promise<void> {
    let p = this.seen.get(desc.digest);
    if (!p) {
      p = visit();
      this.seen.set(desc.digest, p);
    }
    return p;
  }

  async document(desc: Descriptor, depth: number, parent?: Descriptor): Promise<void> {
    const role = isIndexType(desc.mediaType) ? 'index' : 'manifest';
    const bytes = await this.read(desc, role, MAX_MANIFEST_SIZE);
    const parsed = parseAny(bytes, `${this.prefix}${role} ${desc.digest}`, desc.mediaType);
    const at = { descriptor: desc, depth, ...(parent ? { parent } : {}), bytes };
    if (parsed.kind === 'manifest') return this.manifest({ ...at, manifest: parsed.manifest });
    if (depth >= (this.o.maxDepth ?? DEFAULT_MAX_DEPTH)) {
      throw fail('InvalidArgument', `${this.prefix}index ${desc.digest}: nested too deeply`);
    }
    const children = selectManifests(parsed.index.manifests, this.o.matcher, this.o.all ?? false);
    await this.index({ kind: 'index', ...at, index: parsed.index, children });
  }

  private async index(node: IndexNode): Promise<void> {
    await this.o.visit.index?.(node);
    const walked = node.children.map(() => false);
    await this.runChildren(
      node.children.map((child, i) => async () => {
        throwIfAborted(this.o.signal);
        if ((await this.o.visit.child?.(child, node)) === 'skip') return;
        walked[i] = true;
        await this.once(child, () => this.child(child, node));
      }),
    );
    await this.o.visit.afterIndex?.(
      node,
      node.children.filter((_, i) => walked[i]),
    );
  }

  private async child(child: Descriptor, parent: IndexNode): Promise<void> {
    const depth = parent.depth + 1;
    if (isManifestType(child.mediaType) || isIndexType(child.mediaType)) {
      return this.document(child, depth, parent.descriptor);
    }
    await this.o.visit.artifact?.({
      kind: 'artifact',
      descriptor: child,
      depth,
      parent: parent.descriptor,
    });
  }

  private async manifest(at: Omit<ManifestNode, 'kind' | 'config' | 'imageConfig'>) {
    const config = at.manifest.config;
    const wanted =
      isConfigType(config.mediaType) &&
      (await this.o.visit.config?.(config, at.descriptor)) !== 'skip';
    const imageConfig = wanted
      ? parseConfig(
          await this.read(config, 'config', MAX_CONFIG_SIZE),
          `${this.prefix}config ${config.digest}`,
        )
      : undefined;
    await this.o.visit.manifest?.({
      kind: 'manifest',
      ...at,
      config,
      ...(imageConfig ? { imageConfig } : {}),
    });
  }

  private read(desc: Descriptor, role: ReadRole, maxSize: number): Promise<Buffer> {
    throwIfAborted(this.o.signal);
    const signal = this.o.signal ? { signal: this.o.signal } : {};
    return this.o.read(desc, { role, maxSize, ...signal });
  }
}
