import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, type Stats } from 'node:fs';
import { lgetxattr, llistxattr } from '../../src/sys/index.js';

/**
 * A comparable picture of a directory tree, written for the tests: every path with its
 * type, mode, owner, size, content hash, link target, device number, xattrs and (when
 * asked) mtime, plus hardlink groups. `diffTrees` lists the differences readably.
 */
export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size?: number;
  readonly sha256?: string;
  readonly link?: string;
  readonly rdev?: number;
  readonly xattrs: Readonly<Record<string, string>>;
  readonly mtime?: number;
  /** Link count of a non-directory. */
  readonly nlink?: number;
  /** For a file with other names in the tree: the first of them, in walk order. */
  readonly linkGroup?: string;
}

export interface SnapshotOptions {
  /** Record mtimes (ms) of everything but symlinks; dirs too unless `dirMtimes: false`. */
  readonly mtimes?: boolean;
  readonly dirMtimes?: boolean;
  /** Relative paths to leave out (and their subtrees). */
  readonly skip?: (rel: string) => boolean;
  /** xattr names to leave out. */
  readonly skipXattr?: (name: string) => boolean;
}

export type Tree = Map<string, TreeEntry>;

export function snapshotTree(root: string, options: SnapshotOptions = {}): Tree {
  const tree: Tree = new Map();
  const inodes = new Map<string, string>();
  const visit = (rel: string) => {
    const path = rel === '' ? root : `${root}/${rel}`;
    const st = lstatSync(path);
    const entry = describe(path, st, options);
    let linkGroup: string | undefined;
    if (entry.type !== 'dir' && st.nlink > 1) {
      const key = `${st.dev}:${st.ino}`;
      linkGroup = inodes.get(key);
      if (linkGroup === undefined) inodes.set(key, rel);
    }
    tree.set(rel === '' ? '.' : rel, linkGroup ? { ...entry, linkGroup } : entry);
    if (entry.type !== 'dir') return;
    for (const name of readdirSync(path).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!options.skip?.(child)) visit(child);
    }
  };
  visit('');
  return tree;
}

function describe(path: string, st: Stats, options: SnapshotOptions): TreeEntry {
  const type = typeOf(st);
  const xattrs: Record<string, string> = {};
  for (const name of safeList(path).sort()) {
    if (options.skipXattr?.(name)) continue;
    xattrs[name] = lgetxattr(path, name)?.toString('hex') ?? '';
  }
  const base = {
    type,
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    xattrs,
    ...(type === 'dir' ? {} : { nlink: st.nlink }),
  };
  const withTime =
    options.mtimes && type !== 'symlink' && (type !== 'dir' || options.dirMtimes !== false)
      ? { mtime: Math.floor(st.mtimeMs) }
      : {};
  switch (type) {
    case 'file':
      return {
        ...base,
        ...withTime,
        size: st.size,
        sha256: createHash('sha256').update(readFileSync(path)).digest('hex'),
      };
    case 'symlink':
      return { ...base, mode: 0, link: readlinkSync(path) };
    case 'char':
    case 'block':
      return { ...base, ...withTime, rdev: st.rdev };
    default:
      return { ...base, ...withTime };
  }
}

function safeList(path: string): string[] {
  try {
    return llistxattr(path);
  } catch {
    return [];
  }
}

function typeOf(st: Stats): TreeEntry['type'] {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

/** Human-readable differences between two trees; empty when equal. */
export function diffTrees(want: Tree, got: Tree): string[] {
  const out: string[] = [];
  for (const [path, w] of want) {
    const g = got.get(path);
    if (g === undefined) out.push(`missing: ${path} (${w.type})`);
    else if (JSON.stringify(sorted(w)) !== JSON.stringify(sorted(g))) {
      out.push(
        `differs: ${path}\n  want ${JSON.stringify(sorted(w))}\n  got  ${JSON.stringify(sorted(g))}`,
      );
    }
  }
  for (const [path, g] of got) {
    if (!want.has(path)) out.push(`unexpected: ${path} (${g.type})`);
  }
  return out;
}

function sorted(entry: TreeEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(entry).sort()) {
    const value = entry[key as keyof TreeEntry];
    out[key] = key === 'mode' ? (value as number).toString(8) : value;
  }
  return out;
}
