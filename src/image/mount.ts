import { realpath } from 'node:fs/promises';
import { fail, fromSystem, isCode } from '../errors.js';
import { GC_ROOT, MOUNT_TARGET_LABEL } from '../labels.js';
import { mountAll, type Snapshotter, unmountAll } from '../snapshots/index.js';
import type { ImageManifest } from './manifests.js';

/** The label on a mount's view snapshot naming the directory it is mounted on. */

/** The key of the read-only view mounted on `dir` (one per directory). */
export function mountKey(dir: string): string {
  return `mount ${dir}`;
}

async function canonical(dir: string): Promise<string> {
  try {
    return await realpath(dir);
  } catch (err) {
    throw fromSystem(err, `mount point ${dir}`);
  }
}

/**
 * Mounts an unpacked image's rootfs read-only on `dir` through a view snapshot of its top
 * chainID (really mounted: overlay or bind, root only).
 * @throws FailedPrecondition when the image is not unpacked in this snapshotter;
 *   AlreadyExists when something strata mounted is already on `dir`; PermissionDenied.
 */
export async function mountImage(
  sn: Snapshotter,
  image: ImageManifest,
  dir: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const target = await canonical(dir);
  const chainId = image.chainIds.at(-1)!;
  const parent = await sn.stat(chainId).catch((err: unknown) => {
    if (isCode(err, 'NotFound')) return undefined;
    throw err;
  });
  if (parent?.kind !== 'committed') {
    throw fail(
      'FailedPrecondition',
      `image ${image.descriptor.digest}: not unpacked in the ${sn.name} snapshotter`,
    );
  }
  const key = mountKey(target);
  const call = options.signal ? { signal: options.signal } : {};
  let mounts: Awaited<ReturnType<Snapshotter['view']>>;
  try {
    // A gc root: the view lives until unmounted, held by no operation's lease.
    const labels = {
      [MOUNT_TARGET_LABEL]: target,
      [GC_ROOT]: new Date().toISOString(),
    };
    mounts = await sn.view(key, chainId, { labels, ...call });
  } catch (err) {
    if (isCode(err, 'AlreadyExists'))
      throw fail('AlreadyExists', `mount point ${target}: already has an image mounted`);
    throw err;
  }
  try {
    await mountAll(mounts, target, { readonly: true });
  } catch (err) {
    await sn.remove(key).catch(() => {});
    throw err;
  }
}

/**
 * Unmounts what `mountImage` put on `dir` and removes its view snapshot from whichever of
 * `snapshotters` holds it.
 * @throws NotFound when no strata mount is recorded for `dir`.
 */
export async function unmountImage(
  snapshotters: readonly Snapshotter[],
  dir: string,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  const target = await canonical(dir);
  const key = mountKey(target);
  for (const sn of snapshotters) {
    const info = await sn.stat(key).catch(() => undefined);
    if (!info) continue;
    await unmountAll(target, options.signal ? { signal: options.signal } : {});
    await sn.remove(key);
    return;
  }
  throw fail('NotFound', `mount point ${target}: no image mounted by strata`);
}
