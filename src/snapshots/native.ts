import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { syncfs } from '../sys/index.js';
import { copyTree } from './copy-tree.js';
import type { Driver } from './snapshotter.js';
import { snapshotterFrom } from './snapshotter.js';
import type { Snapshotter, SnapshotterOptions } from './types.js';

/**
 * The native snapshotter: each snapshot `<root>/snapshots/native/<id>/fs` is a full tree.
 * `prepare` copies the parent's tree (reflinks where the filesystem can, else in-kernel
 * copies; owners kept as root); whiteouts are applied by deleting. An active snapshot
 * mounts as a bind of its `fs`; a view as a read-only bind of its parent's `fs` (committed
 * snapshots never change, so a view needs no copy). Works without root: the unpacker
 * writes through `applyTarget`, and only mounting needs privilege.
 */
export function nativeSnapshotter(options: SnapshotterOptions): Snapshotter {
  return snapshotterFrom(nativeDriver, options);
}

const nativeDriver: Driver = {
  name: 'native',
  rebase: false,
  async populate(staging, kind, parents, signal) {
    const fs = join(staging, 'fs');
    const [parent] = parents;
    if (kind === 'view' || parent === undefined) {
      await mkdir(fs, { mode: 0o755 });
      return;
    }
    await copyTree(parent, fs, signal === undefined ? {} : { signal });
    // The copy must be on disk before a row names it (a crash must not leave a row over
    // half-written files); one syncfs beats an fsync per file.
    syncFilesystem(fs);
  },
  mounts(kind, dirs, parents) {
    const source = kind === 'view' ? (parents[0] ?? dirs.fs) : dirs.fs;
    return [{ type: 'bind', source, options: [kind === 'view' ? 'ro' : 'rw', 'rbind'] }];
  },
  applyTarget: (dirs) => ({
    dir: dirs.fs,
    parents: [],
    whiteouts: 'delete',
    rootless: process.getuid?.() !== 0,
  }),
};

function syncFilesystem(path: string): void {
  const fd = openSync(path, 'r');
  try {
    syncfs(fd);
  } finally {
    closeSync(fd);
  }
}
