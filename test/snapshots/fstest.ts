import {
  chmod,
  link as hardlink,
  lchown,
  lstat,
  mkdir,
  rename as move,
  readdir,
  readFile,
  readlink,
  rm,
  symlink as softlink,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { llistxattr } from '../../src/sys/index.js';

/**
 * A tiny port of continuity's fstest: appliers that change a directory the same way
 * whether it is a plain dir or a mounted snapshot, and a tree comparison.
 */
export type Applier = (root: string) => Promise<void>;

const at = (root: string, path: string) => join(root, path);

export const createFile =
  (path: string, content: string | Uint8Array, mode: number): Applier =>
  async (root) => {
    await writeFile(at(root, path), content);
    await chmod(at(root, path), mode); // the umask does not get a say
  };

export const createDir =
  (path: string, mode: number): Applier =>
  async (root) => {
    await mkdir(at(root, path));
    await chmod(at(root, path), mode);
  };

export const removeAll =
  (path: string): Applier =>
  (root) =>
    rm(at(root, path), { recursive: true, force: true });

export const chown =
  (path: string, uid: number, gid: number): Applier =>
  (root) =>
    lchown(at(root, path), uid, gid);

export const link =
  (existing: string, path: string): Applier =>
  (root) =>
    hardlink(at(root, existing), at(root, path));

export const symlink =
  (target: string, path: string): Applier =>
  (root) =>
    softlink(target, at(root, path));

export const rename =
  (from: string, to: string): Applier =>
  (root) =>
    move(at(root, from), at(root, to));

export const apply =
  (...appliers: Applier[]): Applier =>
  async (root) => {
    for (const a of appliers) await a(root);
  };

interface Entry {
  readonly type: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly content?: string;
  readonly target?: string;
  readonly rdev?: number;
  readonly xattrs: readonly string[];
  /** The other paths of the tree sharing this inode. */
  readonly links: readonly string[];
}

/** Overlay keeps its own bookkeeping in these; they are not part of the tree's content. */
const ignoredXattr = (name: string) =>
  name.startsWith('trusted.overlay.') ||
  name.startsWith('user.overlay.') ||
  name === 'security.selinux';

/** Every path below `root` (root itself excluded) with what a layer would carry. */
export async function manifest(root: string): Promise<Map<string, Entry>> {
  const raw = new Map<string, { entry: Omit<Entry, 'links'>; inode: string; nlink: number }>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(at(root, rel))).sort()) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const full = at(root, path);
      const st = await lstat(full);
      const type = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isCharacterDevice()
              ? 'char'
              : st.isBlockDevice()
                ? 'block'
                : st.isFIFO()
                  ? 'fifo'
                  : 'socket';
      raw.set(path, {
        entry: {
          type,
          mode: st.mode & 0o7777,
          uid: st.uid,
          gid: st.gid,
          ...(type === 'file' ? { content: (await readFile(full)).toString('base64') } : {}),
          ...(type === 'symlink' ? { target: await readlink(full) } : {}),
          ...(type === 'char' || type === 'block' ? { rdev: st.rdev } : {}),
          xattrs: llistxattr(full)
            .filter((x) => !ignoredXattr(x))
            .sort(),
        },
        inode: `${st.dev}:${st.ino}`,
        nlink: st.nlink,
      });
      if (type === 'dir') await walk(path);
    }
  };
  await walk('');
  const byInode = new Map<string, string[]>();
  for (const [path, r] of raw) {
    if (r.entry.type === 'dir' || r.nlink < 2) continue;
    byInode.set(r.inode, [...(byInode.get(r.inode) ?? []), path]);
  }
  const out = new Map<string, Entry>();
  for (const [path, r] of raw) {
    const group = r.entry.type === 'dir' ? [] : (byInode.get(r.inode) ?? []);
    out.set(path, { ...r.entry, links: group.filter((p) => p !== path) });
  }
  return out;
}

/**
 * Throws, listing the differences, unless `actual` holds the same tree as `expected`: the
 * same paths, types, modes, owners, contents, link targets, device numbers, xattr names
 * and hardlink groups. Times are not compared (overlay copy-up and copies move them).
 */
export async function checkDirectoryEqual(expected: string, actual: string): Promise<void> {
  const [want, got] = await Promise.all([manifest(expected), manifest(actual)]);
  const problems: string[] = [];
  for (const [path, w] of want) {
    const g = got.get(path);
    if (g === undefined) problems.push(`${path}: missing`);
    else if (JSON.stringify(g) !== JSON.stringify(w)) {
      problems.push(`${path}: got ${JSON.stringify(g)}, want ${JSON.stringify(w)}`);
    }
  }
  for (const path of got.keys()) if (!want.has(path)) problems.push(`${path}: unexpected`);
  if (problems.length > 0) {
    throw new Error(`directories differ:\n  ${problems.slice(0, 20).join('\n  ')}`);
  }
}
