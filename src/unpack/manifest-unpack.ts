import { createHash, randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type ApplyPool, type ApplyResult, createApplyPool, finishLower } from '../apply/index.js';
import type { Store } from '../content/index.js';
import { fail, isCode, StrataError, throwIfAborted } from '../errors.js';
import type { LayerTap } from '../fetch/index.js';
import type { ImageManifest } from '../image/index.js';
import { SNAPSHOT_REF } from '../labels.js';
import type { Descriptor, Digest } from '../oci/index.js';
import type { ProgressPhase } from '../progress.js';
import type { Snapshotter } from '../snapshots/index.js';
import { acquireFileLock, type FileLock } from '../sys/index.js';
import { ChunkFeed } from './chunk-feed.js';
import type { UnpackOptions, UnpackResult } from './types.js';

interface LayerWork {
  readonly index: number;
  readonly layer: Descriptor;
  readonly diffId: Digest;
  readonly chainId: Digest;
  /** Its chainID is committed (before this unpack, or by it). */
  done: boolean;
  /** Its blob is in the content store. */
  fetched: boolean;
  /** The active snapshot being filled, and the directory the layer is applied in. */
  key: string | undefined;
  dir: string | undefined;
  /** The cross-process lock on this layer's chainID, held from prepare to commit. */
  lock: FileLock | undefined;
  job: Promise<Applied> | undefined;
  /** The job with its cleanup after a failure (removal of the active snapshot) done. */
  settled: Promise<void> | undefined;
  /** Woken with the job once it starts (boxed: a promise resolved with a promise adopts it). */
  readonly waiters: ((started: { readonly job: Promise<Applied> }) => void)[];
}

/** An apply's outcome: its result, or `committed` when another process committed it first. */
type Applied = ApplyResult | 'committed';

/**
 * Unpacks one image's layers into snapshots named by chainID, as their blobs arrive:
 *
 * - A layer whose download starts when an apply slot is free is applied from the bytes of
 *   the download itself (`tap`: one pass over the network bytes); any other layer is applied
 *   from the content store once its blob is committed (`fetched`).
 * - Snapshotters that can rebase (overlay) apply layers in parallel, each into its own
 *   parentless snapshot, with what needs the lower layers deferred; otherwise (native) a
 *   layer starts when its parent is committed.
 * - Commits happen in layer order, each only once both digests are verified: the blob's
 *   (the content store's commit) and the diffID (the applier, over the whole stream).
 *   Overlay layers are completed (`finishLower`) and rebased onto their parent then.
 * - On any failure the active snapshots are removed: nothing half-applied is visible.
 */
export class ManifestUnpack {
  private readonly layers: LayerWork[];
  private readonly rebase: boolean;
  private readonly max: number;
  private readonly controller = new AbortController();
  private readonly chain: Promise<UnpackResult>;
  private readonly pool: ApplyPool;
  /** Applies whose tap was detached (the download restarted): applied again from the store. */
  private readonly detached = new WeakSet<Promise<Applied>>();
  private running = 0;
  private unpacked = 0;
  private failure: unknown;

  /**
   * Starts unpacking `image` from `content`; layers whose chainID is committed already are
   * skipped. Feed it with `tap` and `fetched` (a pull), or call `finish` when every blob is
   * stored (an unpack from the store).
   */
  static async create(
    content: Store,
    image: ImageManifest,
    options: UnpackOptions,
  ): Promise<ManifestUnpack> {
    const committed = await committedDepth(options.snapshotter, image.chainIds);
    return new ManifestUnpack(content, image, options, committed);
  }

  private constructor(
    private readonly content: Store,
    readonly image: ImageManifest,
    private readonly o: UnpackOptions,
    committed: number,
  ) {
    this.rebase = o.snapshotter.capabilities.rebase;
    this.max = Math.max(1, o.maxConcurrentUnpacks ?? 2);
    this.pool = o.pool ?? createApplyPool({ size: this.max });
    this.layers = image.layers.map((layer, index) => ({
      index,
      layer,
      diffId: image.diffIds[index]!,
      chainId: image.chainIds[index]!,
      done: index < committed,
      fetched: false,
      key: undefined,
      dir: undefined,
      lock: undefined,
      job: undefined,
      settled: undefined,
      waiters: [],
    }));
    for (const w of this.layers) if (w.done) this.emit(w, 'unpacked');
    const outer = o.signal;
    const onAbort = () => this.controller.abort(outer?.reason);
    if (outer?.aborted) this.controller.abort(outer.reason);
    outer?.addEventListener('abort', onAbort, { once: true });
    this.chain = this.commitInOrder();
    this.chain.catch((err: unknown) => this.fail(err));
    // A caller's long-lived signal (a CLI's, a server's) must not keep one listener per unpack.
    const detach = () => outer?.removeEventListener('abort', onAbort);
    this.chain.then(detach, detach);
  }

  /** Waits for every layer to be committed. */
  async finish(): Promise<UnpackResult> {
    for (const w of this.layers) w.fetched = true;
    this.schedule();
    try {
      return await this.chain;
    } finally {
      await this.closeOwnPool();
    }
  }

  /** Stops everything and removes the active snapshots this unpack made. */
  async abort(reason: unknown): Promise<void> {
    this.fail(reason);
    // Each failed job removes its own snapshot: wait for that too, the caller may close
    // the database as soon as this returns.
    await Promise.allSettled([this.chain, ...this.layers.map((w) => w.settled)]);
    for (const w of this.layers) {
      if (w.key) await this.remove(w);
      this.unlock(w);
    }
    await this.closeOwnPool();
  }

  private async closeOwnPool(): Promise<void> {
    if (!this.o.pool) await this.pool.close();
  }

  /**
   * For the pull: a tap for layer `index`, whose download is starting, when it can be
   * applied right away; undefined means "apply it from the store once fetched".
   */
  tap(index: number): LayerTap | undefined {
    const w = this.layers[index];
    if (!w || w.done || w.job || this.failure !== undefined || !this.canStart(w)) return undefined;
    const feed = new ChunkFeed();
    const job = this.start(w, feed);
    // The download stops as soon as the apply fails: writes race the job's failure.
    const failed = job.then(
      () => new Promise<never>(() => {}),
      (err: unknown) => Promise.reject(err),
    );
    failed.catch(() => {});
    return {
      write: (chunk) => Promise.race([feed.push(chunk), failed]),
      detach: () => {
        this.detached.add(job);
        feed.fail(new Error('layer download restarted'));
      },
      end: () => feed.end(),
      fail: (err) => feed.fail(err),
    };
  }

  /** For the pull: layer `index`'s blob is committed. Throws if the unpack already failed. */
  fetched(index: number): void {
    if (this.failure !== undefined) throw this.failure;
    const w = this.layers[index];
    if (w) w.fetched = true;
    this.schedule();
  }

  private fail(err: unknown): void {
    this.failure ??= err;
    if (!this.controller.signal.aborted) this.controller.abort(err);
    const job = Promise.reject(this.failure);
    job.catch(() => {});
    for (const w of this.layers) for (const wake of w.waiters.splice(0)) wake({ job });
  }

  private canStart(w: LayerWork): boolean {
    if (this.running >= this.max) return false;
    return this.rebase || w.index === 0 || this.layers[w.index - 1]!.done;
  }

  /** Starts store-fed applies for fetched layers while slots are free, lowest first. */
  private schedule(): void {
    if (this.failure !== undefined) return;
    for (const w of this.layers) {
      if (!w.done && !w.job && w.fetched && this.canStart(w)) void this.start(w, 'store');
    }
  }

  /** Starts the apply; its result is awaited by `result()` (and a tap's writes). */
  private start(w: LayerWork, source: ChunkFeed | 'store'): Promise<Applied> {
    this.running++;
    const job = this.apply(w, source);
    w.job = job;
    for (const wake of w.waiters.splice(0)) wake({ job });
    w.settled = job
      .then(() => {})
      .catch(async () => {
        if (w.key) await this.remove(w);
        this.unlock(w);
      })
      .finally(() => {
        this.running--;
        this.schedule();
      });
    return job;
  }

  private async apply(w: LayerWork, source: ChunkFeed | 'store'): Promise<Applied> {
    const sn = this.o.snapshotter;
    const signal = this.controller.signal;
    if (this.o.lockDir !== undefined) {
      const name = createHash('sha256').update(`${sn.name}\0${w.chainId}`).digest('hex');
      w.lock = await acquireFileLock(join(this.o.lockDir, 'unpack', name), { signal });
      if (await isCommitted(sn, w.chainId)) {
        // Another process unpacked it while we waited: its snapshot serves.
        if (source !== 'store') for await (const _ of source) void _; // let the download finish
        return 'committed';
      }
    }
    const key = `extract-${randomBytes(6).toString('hex')} ${w.chainId}`;
    const parent = this.rebase ? '' : (this.layers[w.index - 1]?.chainId ?? '');
    await sn.prepare(key, parent, { labels: { [SNAPSHOT_REF]: w.chainId }, signal });
    w.key = key;
    const target = await sn.applyTarget(key, { signal });
    w.dir = target.dir;
    this.emit(w, 'unpacking');
    const bytes =
      source === 'store'
        ? counted(await this.content.reader(w.layer.digest, { signal }), (done) =>
            this.emit(w, 'unpacking', done),
          )
        : source;
    return this.pool.apply(bytes, target.dir, {
      subject: `layer ${w.layer.digest}`,
      whiteouts: target.whiteouts,
      rootless: target.rootless,
      parents: this.rebase ? 'later' : target.parents,
      expectedDiffId: w.diffId,
      signal,
      ...(this.o.onWarning ? { onWarning: this.o.onWarning } : {}),
    });
  }

  private async commitInOrder(): Promise<UnpackResult> {
    const sn = this.o.snapshotter;
    for (const w of this.layers) {
      if (w.done) continue;
      const result = await this.result(w);
      if (result === 'committed') {
        this.finished(w);
        continue;
      }
      const key = w.key!;
      const parent = this.layers[w.index - 1]?.chainId;
      try {
        throwIfAborted(this.controller.signal);
        if (this.rebase && result.deferred) {
          const target = await sn.applyTarget(key, parent ? { parent } : {});
          finishLower(target.dir, result.deferred, {
            parents: target.parents,
            rootless: target.rootless,
            ...(this.o.onWarning ? { onWarning: this.o.onWarning } : {}),
          });
        }
        await sn.commit(w.chainId, key, this.rebase && parent ? { parent } : {});
        this.unpacked++;
      } catch (err) {
        // Another process committed the same chainID meanwhile: its snapshot serves.
        if (!isCode(err, 'AlreadyExists')) throw inLayer(err, w);
        await this.remove(w);
      }
      w.key = undefined;
      this.finished(w);
    }
    return { chainId: this.image.chainIds.at(-1)!, unpacked: this.unpacked };
  }

  private finished(w: LayerWork): void {
    this.unlock(w);
    w.done = true;
    this.emit(w, 'unpacked');
    this.schedule();
  }

  private unlock(w: LayerWork): void {
    w.lock?.release();
    w.lock = undefined;
  }

  /** The layer's apply result, applying it again from the store if its tap was detached. */
  private async result(w: LayerWork): Promise<Applied> {
    for (;;) {
      const job =
        w.job ?? (await new Promise<{ job: Promise<Applied> }>((wake) => w.waiters.push(wake))).job;
      try {
        return await job;
      } catch (err) {
        if (!this.detached.has(job)) throw inLayer(err, w);
        if (w.job === job) w.job = undefined;
        this.schedule();
      }
    }
  }

  private async remove(w: LayerWork): Promise<void> {
    const { key, dir } = w;
    w.key = undefined;
    w.dir = undefined;
    if (!key) return;
    const sn = this.o.snapshotter;
    if (
      await sn.remove(key).then(
        () => true,
        () => false,
      )
    )
      return;
    // A full disk can refuse even the deletion of the record (SQLite needs room to write):
    // the half-applied layer is void, so its files go first to make room, then the record.
    if (dir) await emptyDir(dir);
    await sn.remove(key).catch(() => {});
  }

  private emit(w: LayerWork, phase: ProgressPhase, done?: number): void {
    this.o.onProgress?.({
      phase,
      id: w.layer.digest,
      kind: 'layer',
      total: w.layer.size,
      ...(done === undefined ? {} : { done }),
    });
  }
}

async function isCommitted(sn: Snapshotter, name: string): Promise<boolean> {
  const info = await sn.stat(name).catch((err: unknown) => {
    if (isCode(err, 'NotFound')) return undefined;
    throw err;
  });
  return info?.kind === 'committed';
}

/** How many layers, from the base, already have their chainID committed. */
async function committedDepth(sn: Snapshotter, chainIds: readonly Digest[]): Promise<number> {
  for (let n = chainIds.length; n > 0; n--) {
    const info = await sn.stat(chainIds[n - 1]!).catch((err: unknown) => {
      if (isCode(err, 'NotFound')) return undefined;
      throw err;
    });
    // A committed chainID implies its whole chain below is committed too.
    if (info?.kind === 'committed') return n;
  }
  return 0;
}

/** A failure to commit a layer, naming it by its blob digest (as the applier does). */
function inLayer(err: unknown, w: LayerWork): unknown {
  if (!(err instanceof StrataError) || err.message.includes(w.layer.digest)) return err;
  return fail(err.code, `layer ${w.layer.digest}: ${err.message}`, err);
}

/** Passes chunks through, reporting the bytes seen (at most every 100 ms). */
async function* counted(
  source: AsyncIterable<Uint8Array>,
  report: (done: number) => void,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  let last = 0;
  for await (const chunk of source) {
    done += chunk.byteLength;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      report(done);
    }
    yield chunk;
  }
}

/** Deletes what a directory holds, best effort. */
async function emptyDir(dir: string): Promise<void> {
  const names = await readdir(dir).catch(() => [] as string[]);
  await Promise.all(
    names.map((n) => rm(join(dir, n), { recursive: true, force: true }).catch(() => {})),
  );
}
