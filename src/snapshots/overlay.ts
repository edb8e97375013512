import { existsSync } from 'node:fs';
import { chmod, lchown, lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Driver, SnapshotDirs } from './snapshotter.js';
import { snapshotterFrom } from './snapshotter.js';
import type { Mount, Snapshotter, SnapshotterOptions } from './types.js';

export interface OverlayOptions extends SnapshotterOptions {
  /**
   * Mount with `userxattr` (overlayfs in a user namespace, kernel >= 5.11): overlay keeps
   * its metadata in `user.overlay.*` instead of `trusted.overlay.*`, and so must the
   * layers applied into it.
   */
  readonly rootless?: boolean;
  /** Extra overlay mount options. `index=off` is added where the kernel knows it. */
  readonly mountOptions?: readonly string[];
}

/**
 * The overlay snapshotter: each snapshot is `<root>/snapshots/overlay/<id>/{fs,work}`; an
 * active snapshot mounts as overlayfs with its `fs` as upperdir over its parents' `fs`
 * dirs (lowerdir, nearest parent first). Without parents it is a bind mount; a view of
 * one parent is a read-only bind of that parent, a view of several a lowerdir-only
 * (read-only) overlay. Layers hold whiteouts in overlay form.
 */
export function overlaySnapshotter(options: OverlayOptions): Snapshotter {
  const rootless = options.rootless ?? false;
  const extra = [...(options.mountOptions ?? [])];
  if (rootless && !extra.includes('userxattr')) extra.push('userxattr');
  // containerd turns the inode index off: with it on, a lower layer mounted by two
  // overlays at once (or moved) makes the second mount fail with ESTALE.
  if (!extra.some((o) => o.startsWith('index=')) && supportsIndexOption()) extra.push('index=off');
  return snapshotterFrom(overlayDriver(rootless, extra), options);
}

function overlayDriver(rootless: boolean, extra: readonly string[]): Driver {
  return {
    name: 'overlay',
    rebase: true,
    async populate(staging, kind, parents) {
      const fs = join(staging, 'fs');
      await mkdir(fs, { mode: 0o755 });
      if (kind === 'active') await mkdir(join(staging, 'work'), { mode: 0o711 });
      // The merged root takes its owner and mode from the upper dir: keep the parent's.
      if (parents[0] !== undefined) await copyRootAttributes(parents[0], fs);
    },
    mounts: (kind, dirs, parents) => overlayMounts(kind, dirs, parents, extra),
    applyTarget: (dirs, parents) => ({ dir: dirs.fs, parents, whiteouts: 'overlay', rootless }),
  };
}

/** containerd's overlay mounts, option order included. */
export function overlayMounts(
  kind: 'active' | 'view',
  dirs: SnapshotDirs,
  parents: readonly string[],
  extra: readonly string[] = [],
): Mount[] {
  const [nearest] = parents;
  if (nearest === undefined) {
    return [{ type: 'bind', source: dirs.fs, options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  }
  if (kind === 'view' && parents.length === 1) {
    return [{ type: 'bind', source: nearest, options: ['ro', 'rbind'] }];
  }
  const options =
    kind === 'active' ? [`workdir=${dirs.work}`, `upperdir=${dirs.fs}`] : ([] as string[]);
  options.push(`lowerdir=${parents.join(':')}`, ...extra);
  return [{ type: 'overlay', source: 'overlay', options }];
}

async function copyRootAttributes(from: string, to: string): Promise<void> {
  const st = await lstat(from);
  if (process.getuid?.() === 0) await lchown(to, st.uid, st.gid);
  await chmod(to, st.mode & 0o7777);
}

let indexOption: boolean | undefined;

/** True when the overlay module has an `index` parameter (so `index=off` is understood). */
export function supportsIndexOption(): boolean {
  indexOption ??= existsSync('/sys/module/overlay/parameters/index');
  return indexOption;
}
