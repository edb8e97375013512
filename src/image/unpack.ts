import { randomBytes } from 'node:crypto';
import type { Store } from '../content/types.js';
import { fail, isCode, StrataError, throwIfAborted } from '../errors.js';
import type { Descriptor } from '../oci/descriptor.js';
import type { Digest } from '../oci/digest.js';
import type { ProgressEvent } from '../pull/types.js';
import type { Snapshotter } from '../snapshots/index.js';
import { applyLayer } from '../unpack/index.js';
import type { ImageManifest } from './manifests.js';

/** The label containerd puts on an image config: which snapshot holds its rootfs. */
export const GC_REF_SNAPSHOT = 'containerd.io/gc.ref.snapshot';

export interface UnpackOptions {
  readonly snapshotter: Snapshotter;
  readonly signal?: AbortSignal;
  readonly onProgress?: (event: ProgressEvent) => void;
  readonly onWarning?: (message: string) => void;
}

export interface UnpackResult {
  /** The snapshot holding the rootfs (the top layer's chainID). */
  readonly chainId: Digest;
  /** Layers applied by this call (the others were already unpacked). */
  readonly unpacked: number;
}

/**
 * Unpacks one image's layers into committed snapshots named by their chainIDs, base first,
 * reusing any chainID already committed. Each layer is applied into a fresh active
 * snapshot, its diffID verified over the whole uncompressed stream, then committed; on any
 * failure the active snapshot is removed, so nothing half-applied is ever visible.
 * Finally the config is labelled with the snapshot (`containerd.io/gc.ref.snapshot.<sn>`).
 * @throws FailedPrecondition naming the layer when its diffID does not match; NotFound when
 *   a layer blob is missing; Aborted.
 */
export async function unpackImage(
  content: Store,
  image: ImageManifest,
  options: UnpackOptions,
): Promise<UnpackResult> {
  let unpacked = 0;
  for (const [i, layer] of image.layers.entries()) {
    throwIfAborted(options.signal);
    const applied = await unpackLayer(content, {
      layer,
      diffId: image.diffIds[i]!,
      chainId: image.chainIds[i]!,
      parent: image.chainIds[i - 1],
      ...options,
    });
    if (applied) unpacked++;
  }
  const chainId = image.chainIds.at(-1)!;
  await content.update(
    image.config.digest,
    { [`${GC_REF_SNAPSHOT}.${options.snapshotter.name}`]: chainId },
    [`labels.${GC_REF_SNAPSHOT}.${options.snapshotter.name}`],
  );
  return { chainId, unpacked };
}

interface LayerJob extends UnpackOptions {
  readonly layer: Descriptor;
  readonly diffId: Digest;
  readonly chainId: Digest;
  readonly parent: Digest | undefined;
}

/** Applies one layer unless its chainID is already committed; true when it applied it. */
export async function unpackLayer(content: Store, job: LayerJob): Promise<boolean> {
  const { snapshotter: sn, layer, chainId, signal } = job;
  const progress = (phase: string, done?: number) =>
    job.onProgress?.({
      phase,
      id: layer.digest,
      kind: 'layer',
      total: layer.size,
      ...(done === undefined ? {} : { done }),
    });
  if (await isCommitted(sn, chainId)) {
    progress('unpacked', layer.size);
    return false;
  }
  const key = `extract-${randomBytes(6).toString('hex')} ${chainId}`;
  const call = signal ? { signal } : {};
  await sn.prepare(key, job.parent ?? '', {
    labels: { 'containerd.io/snapshot.ref': chainId },
    ...call,
  });
  try {
    const target = await sn.applyTarget(key, call);
    const source = counted(await content.reader(layer.digest), (done) =>
      progress('unpacking', done),
    );
    await applyLayer(source, target.dir, {
      whiteouts: target.whiteouts,
      rootless: target.rootless,
      parents: target.parents,
      expectedDiffId: job.diffId,
      ...call,
      ...(job.onWarning ? { onWarning: job.onWarning } : {}),
    });
    await sn.commit(chainId, key, call);
  } catch (err) {
    await sn.remove(key).catch(() => {});
    // Another process committed the same chainID meanwhile: its snapshot serves us.
    if (isCode(err, 'AlreadyExists') && (await isCommitted(sn, chainId))) {
      progress('unpacked', layer.size);
      return false;
    }
    throw nameLayer(err, layer.digest, job.diffId);
  }
  progress('unpacked', layer.size);
  return true;
}

async function isCommitted(sn: Snapshotter, name: string): Promise<boolean> {
  try {
    return (await sn.stat(name)).kind === 'committed';
  } catch (err) {
    if (isCode(err, 'NotFound')) return false;
    throw err;
  }
}

/** Errors name the layer by its blob digest, once (the applier names it by diffID). */
function nameLayer(err: unknown, digest: Digest, diffId: Digest): unknown {
  if (!(err instanceof StrataError) || err.message.includes(digest)) return err;
  const bare = err.message.startsWith(`layer ${diffId}: `)
    ? err.message.slice(`layer ${diffId}: `.length)
    : err.message;
  return fail(err.code, `layer ${digest}: ${bare}`, err);
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
