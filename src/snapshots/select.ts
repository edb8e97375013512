import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fail } from '../errors.js';
import { mount, unmount } from '../sys/index.js';
import { nativeSnapshotter } from './native.js';
import { type OverlayOptions, overlaySnapshotter, supportsIndexOption } from './overlay.js';
import { snapshotterDir } from './snapshotter.js';
import { createStaging } from './staging.js';
import type { Snapshotter, SnapshotterName } from './types.js';

export const SNAPSHOTTERS: readonly SnapshotterName[] = ['overlay', 'native'];

/** Parses a `--snapshotter` value. @throws InvalidArgument */
export function parseSnapshotterName(value: string): SnapshotterName {
  const name = SNAPSHOTTERS.find((n) => n === value);
  if (name === undefined) {
    throw fail(
      'InvalidArgument',
      `snapshotter ${JSON.stringify(value)}: unknown (overlay or native)`,
    );
  }
  return name;
}

/** Opens the snapshotter called `name` over a root. */
export function openSnapshotter(name: SnapshotterName, options: OverlayOptions): Snapshotter {
  switch (name) {
    case 'overlay':
      return overlaySnapshotter(options);
    case 'native':
      return nativeSnapshotter(options);
  }
}

const probed = new Map<string, Promise<SnapshotterName>>();

/**
 * The snapshotter to use on `root` when none is asked for: `overlay` when running as root
 * and an overlay mount works on the filesystem under `<root>/snapshots/overlay` (probed once
 * per process by mounting a tiny overlay there), else `native`.
 */
export function defaultSnapshotter(root: string): Promise<SnapshotterName> {
  if (process.getuid?.() !== 0) return Promise.resolve('native');
  const key = resolve(root);
  let result = probed.get(key);
  if (result === undefined) {
    result = probeOverlay(key).then((works) => (works ? 'overlay' : 'native'));
    probed.set(key, result);
  }
  return result;
}

/** Mounts lower+upper on merged in a staging dir, writes through it, and tears it down. */
async function probeOverlay(root: string): Promise<boolean> {
  const staging = await createStaging(snapshotterDir(root, 'overlay'));
  try {
    const [lower, upper, work, merged] = ['l', 'u', 'w', 'm'].map((d) => join(staging.path, d)) as [
      string,
      string,
      string,
      string,
    ];
    await Promise.all([lower, upper, work, merged].map((d) => mkdir(d)));
    const index = supportsIndexOption() ? ',index=off' : '';
    try {
      mount(
        'overlay',
        merged,
        'overlay',
        0,
        `lowerdir=${lower},upperdir=${upper},workdir=${work}${index}`,
      );
    } catch {
      return false;
    }
    try {
      await writeFile(join(merged, 'probe'), 'ok');
      return true;
    } catch {
      return false;
    } finally {
      unmount(merged, { lazy: true });
    }
  } finally {
    await staging.discard();
  }
}
