import {
  closeSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';

/**
 * The file work done on a mounted rootfs, the same code whatever snapshotter made the
 * mount (synchronous fs calls: one thread, no threadpool queueing in the numbers):
 *
 * - walk: readdir + lstat of every entry;
 * - read: a sample of the regular files read fully (every k-th by path, up to 512 files
 *   and 256 MiB);
 * - create: 512 files of 4 KiB and 8 of 1 MiB in a new directory;
 * - copy-up: 4 bytes overwritten in the middle of up to 64 lower files (the 4 largest and
 *   every m-th), which overlayfs copies up whole, like containerd's benchsuite `updateFile`;
 * - delete: up to 256 lower files (every j-th, none of the copied-up ones).
 *
 * Samples are picked from the sorted paths, so each snapshotter gets the same files.
 */

export interface FileRef {
  /** Relative to the rootfs. */
  readonly path: string;
  readonly size: number;
}

export interface Tree {
  readonly entries: number;
  /** Regular files, sorted by path. */
  readonly files: readonly FileRef[];
}

/** readdir + lstat of every entry under `root` (the root itself excluded). */
export function walkTree(root: string): Tree {
  const files: FileRef[] = [];
  let entries = 0;
  const visit = (rel: string) => {
    for (const name of readdirSync(join(root, rel))) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, path));
      entries++;
      if (st.isDirectory()) visit(path);
      else if (st.isFile()) files.push({ path, size: st.size });
    }
  };
  visit('');
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { entries, files };
}

export interface Samples {
  readonly read: readonly FileRef[];
  readonly copyUp: readonly FileRef[];
  readonly remove: readonly FileRef[];
}

const READ_FILES = 512;
const READ_BYTES = 256 << 20;
const COPY_UP_FILES = 64;
const REMOVE_FILES = 256;

export function pickSamples(tree: Tree): Samples {
  const { files } = tree;
  const read: FileRef[] = [];
  let bytes = 0;
  const stride = Math.max(1, Math.ceil(files.length / READ_FILES));
  for (let i = 0; i < files.length && read.length < READ_FILES; i += stride) {
    const f = files[i]!;
    if (bytes + f.size > READ_BYTES && read.length > 0) continue;
    read.push(f);
    bytes += f.size;
  }
  const largest = [...files].sort((a, b) => b.size - a.size).slice(0, 4);
  const copyUp = new Map(largest.map((f) => [f.path, f]));
  const every = Math.max(1, Math.ceil(files.length / (COPY_UP_FILES - 4)));
  for (let i = 1; i < files.length && copyUp.size < COPY_UP_FILES; i += every) {
    copyUp.set(files[i]!.path, files[i]!);
  }
  const remove: FileRef[] = [];
  const jump = Math.max(1, Math.ceil(files.length / REMOVE_FILES));
  for (let i = 2; i < files.length && remove.length < REMOVE_FILES; i += jump) {
    if (!copyUp.has(files[i]!.path)) remove.push(files[i]!);
  }
  return { read, copyUp: [...copyUp.values()], remove };
}

const BUFFER = Buffer.alloc(1 << 20);

/** Reads each file fully; returns the bytes read. */
export function readFiles(root: string, files: readonly FileRef[]): number {
  let total = 0;
  for (const f of files) {
    const fd = openSync(join(root, f.path), 'r');
    try {
      for (let n = readSync(fd, BUFFER); n > 0; n = readSync(fd, BUFFER)) total += n;
    } finally {
      closeSync(fd);
    }
  }
  return total;
}

export const WRITE_DIR = 'strata-bench-write';

/** 512 files of 4 KiB and 8 of 1 MiB in a new directory. */
export function createFiles(root: string): void {
  const dir = join(root, WRITE_DIR);
  mkdirSync(dir);
  const small = Buffer.alloc(4096, 's');
  const big = Buffer.alloc(1 << 20, 'b');
  for (let i = 0; i < 512; i++) writeFileSync(join(dir, `small-${i}`), small);
  for (let i = 0; i < 8; i++) writeFileSync(join(dir, `big-${i}`), big);
}

/** Overwrites 4 bytes in the middle of each file (a copy-up on overlayfs). */
export function copyUp(root: string, files: readonly FileRef[]): void {
  const patch = Buffer.from('edit');
  for (const f of files) {
    const fd = openSync(join(root, f.path), 'r+');
    try {
      writeSync(fd, patch, 0, Math.min(4, f.size), f.size >> 1);
    } finally {
      closeSync(fd);
    }
  }
}

export function deleteFiles(root: string, files: readonly FileRef[]): void {
  for (const f of files) rmSync(join(root, f.path));
}
