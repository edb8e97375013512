import { type BigIntStats, constants } from 'node:fs';
import {
  chmod,
  copyFile,
  lchown,
  link,
  lstat,
  lutimes,
  mkdir,
  readdir,
  readlink,
  symlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { errno, fromSystem, throwIfAborted } from '../errors.js';
import { lgetxattr, llistxattr, lsetxattr, mknod, type NodeKind } from '../sys/index.js';

export interface CopyTreeOptions {
  readonly signal?: AbortSignal;
  /** Keep owners (needs root). Default: when running as root. */
  readonly preserveOwners?: boolean;
}

/**
 * Copies the tree at `src` to `dst` (which must not exist), keeping what a layer carries:
 * file types (regular, directory, symlink, device, fifo), modes including setuid/setgid/
 * sticky, owners (as root), xattrs, access and modification times, and hardlinks as
 * hardlinks. Regular files are cloned (reflink) where the filesystem can, else copied
 * in-kernel (copy_file_range). Sockets are skipped, as tar does.
 * @throws Aborted; PermissionDenied (device nodes without root); NotFound; Internal
 */
export async function copyTree(
  src: string,
  dst: string,
  options: CopyTreeOptions = {},
): Promise<void> {
  const copier = new TreeCopier(options);
  try {
    const st = await lstat(src, { bigint: true });
    await copier.directory(src, dst, st);
  } catch (err) {
    throw fromSystem(err, `copy ${src}`);
  }
}

/** At most this many file operations in flight: the libuv pool runs 4 at a time anyway. */
const IN_FLIGHT = 32;

class TreeCopier {
  private readonly signal: AbortSignal | undefined;
  private readonly owners: boolean;
  /** `dev:ino` of a multiply-linked file -> its first copy (settled once fully written). */
  private readonly links = new Map<string, Promise<string>>();
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: CopyTreeOptions) {
    this.signal = options.signal;
    this.owners = options.preserveOwners ?? process.getuid?.() === 0;
  }

  async directory(src: string, dst: string, st: BigIntStats): Promise<void> {
    await mkdir(dst, { mode: 0o700 }); // opened up by attributes() once filled
    const names = await readdir(src);
    await Promise.all(names.map((name) => this.entry(join(src, name), join(dst, name))));
    await this.attributes(src, dst, st);
  }

  private async entry(src: string, dst: string): Promise<void> {
    throwIfAborted(this.signal);
    const st = await this.limited(() => lstat(src, { bigint: true }));
    if (st.isDirectory()) return this.directory(src, dst, st);
    if (st.isSocket()) return;
    if (st.isFile() && st.nlink > 1n) return this.hardlinked(src, dst, st);
    await this.limited(async () => {
      await this.create(src, dst, st);
      await this.attributes(src, dst, st);
    });
  }

  /** The first path of an inode is copied; the others become links to that copy. */
  private async hardlinked(src: string, dst: string, st: BigIntStats): Promise<void> {
    const id = `${st.dev}:${st.ino}`;
    const first = this.links.get(id);
    if (first !== undefined) {
      const target = await first;
      await this.limited(() => link(target, dst));
      return;
    }
    const copied = this.limited(async () => {
      await this.create(src, dst, st);
      await this.attributes(src, dst, st);
      return dst;
    });
    this.links.set(id, copied);
    await copied;
  }

  private async create(src: string, dst: string, st: BigIntStats): Promise<void> {
    if (st.isFile()) return copyFile(src, dst, constants.COPYFILE_FICLONE);
    if (st.isSymbolicLink()) return symlink(await readlink(src), dst);
    const kind: NodeKind = st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : 'fifo';
    mknod(dst, kind, 0o600, devMajor(st.rdev), devMinor(st.rdev));
  }

  /** Owner first (chown clears setuid/setgid), then mode, xattrs, and times last. */
  private async attributes(src: string, dst: string, st: BigIntStats): Promise<void> {
    const symlinked = st.isSymbolicLink();
    if (this.owners) await lchown(dst, Number(st.uid), Number(st.gid));
    if (!symlinked) await chmod(dst, Number(st.mode) & 0o7777);
    this.copyXattrs(src, dst, symlinked);
    await lutimes(dst, seconds(st.atimeNs), seconds(st.mtimeNs));
  }

  private copyXattrs(src: string, dst: string, symlinked: boolean): void {
    for (const name of llistxattr(src)) {
      const value = lgetxattr(src, name);
      if (value === undefined) continue;
      try {
        lsetxattr(dst, name, value);
      } catch (err) {
        // The target filesystem may not take xattrs, user.* never sits on a symlink, and
        // without root trusted.*/security.* are refused: those are not the copy's to keep.
        const code = errno(err);
        const tolerated = code === 'ENOTSUP' || ((symlinked || !this.owners) && code === 'EPERM');
        if (!tolerated) throw err;
      }
    }
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    while (this.running >= IN_FLIGHT) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.running++;
    try {
      return await fn();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}

const seconds = (ns: bigint): number => Number(ns / 1000n) / 1e6;

/** glibc's major()/minor() for a 64-bit dev_t. */
export function devMajor(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n));
}

export function devMinor(dev: bigint): number {
  return Number((dev & 0xffn) | ((dev >> 12n) & 0xffffff00n));
}
