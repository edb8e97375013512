/**
 * sys: the one seam for what Node's fs lacks — advisory file locks (flock), device nodes
 * (mknod), extended attributes, mount/umount and syncfs. Every call is synchronous (a libc
 * call of a few microseconds) and throws a Node-style system error (`err.code === 'EPERM'`).
 */
import { libc, systemError } from './libc.js';

export { acquireFileLock, type FileLock, tryFileLock, tryLock, unlock } from './file-lock.js';
export { systemError } from './libc.js';

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

export type NodeKind = 'char' | 'block' | 'fifo';

/** Creates a device node or fifo; `mode` holds the permission bits only. */
export function mknod(path: string, kind: NodeKind, mode: number, major = 0, minor = 0): void {
  const type = kind === 'char' ? S_IFCHR : kind === 'block' ? S_IFBLK : S_IFIFO;
  const dev = makedev(major, minor);
  const c = libc();
  if (c.mknod(path, type | (mode & 0o7777), dev) !== 0) throw systemError('mknod', c.errno(), path);
}

/** glibc's makedev: the 64-bit dev_t encoding of major and minor numbers. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major);
  const mi = BigInt(minor);
  return (
    ((ma & 0xfffff000n) << 32n) | ((ma & 0xfffn) << 8n) | ((mi & 0xffffff00n) << 12n) | (mi & 0xffn)
  );
}

/** Sets an xattr on `path` itself (never following a symlink). */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const c = libc();
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (c.lsetxattr(path, name, buf, buf.length, 0) !== 0) {
    throw systemError('lsetxattr', c.errno(), path);
  }
}

/** Reads an xattr of `path` itself; undefined when it is not set. */
export function lgetxattr(path: string, name: string): Buffer | undefined {
  const c = libc();
  for (;;) {
    const size = Number(c.lgetxattr(path, name, null, 0));
    if (size < 0) return missingXattr(c.errno(), 'lgetxattr', path);
    const buf = Buffer.alloc(size);
    const got = Number(c.lgetxattr(path, name, buf, size));
    if (got >= 0) return buf.subarray(0, got);
    const e = c.errno();
    if (e !== ERANGE) return missingXattr(e, 'lgetxattr', path);
  }
}

/** Lists the xattr names of `path` itself. */
export function llistxattr(path: string): string[] {
  const c = libc();
  for (;;) {
    const size = Number(c.llistxattr(path, null, 0));
    if (size < 0) throw systemError('llistxattr', c.errno(), path);
    if (size === 0) return [];
    const buf = Buffer.alloc(size);
    const got = Number(c.llistxattr(path, buf, size));
    if (got >= 0) return buf.subarray(0, got).toString('utf8').split('\0').filter(Boolean);
    const e = c.errno();
    if (e !== ERANGE) throw systemError('llistxattr', e, path);
  }
}

export function lremovexattr(path: string, name: string): void {
  const c = libc();
  if (c.lremovexattr(path, name) !== 0) {
    const e = c.errno();
    if (e !== ENODATA) throw systemError('lremovexattr', e, path);
  }
}

const ERANGE = 34;
const ENODATA = 61;
const ENOTSUP = 95;

function missingXattr(e: number, syscall: string, path: string): undefined {
  if (e === ENODATA || e === ENOTSUP) return undefined;
  throw systemError(syscall, e, path);
}

export const MountFlags = {
  rdonly: 0x1,
  nosuid: 0x2,
  nodev: 0x4,
  remount: 0x20,
  bind: 0x1000,
  rec: 0x4000,
} as const;

/** mount(2). `data` is the filesystem's option string (overlay: lowerdir=...,upperdir=...). */
export function mount(
  source: string,
  target: string,
  fstype: string | null,
  flags: number,
  data: string | null,
): void {
  const c = libc();
  if (c.mount(source, target, fstype, flags, data) !== 0) {
    throw systemError('mount', c.errno(), target);
  }
}

const MNT_DETACH = 2;

/** umount2(2); `lazy` detaches a busy mount. */
export function unmount(target: string, options: { lazy?: boolean } = {}): void {
  const c = libc();
  if (c.umount2(target, options.lazy ? MNT_DETACH : 0) !== 0) {
    throw systemError('umount2', c.errno(), target);
  }
}

/** syncfs(2) on the filesystem holding the open fd. */
export function syncfs(fd: number): void {
  const c = libc();
  if (c.syncfs(fd) !== 0) throw systemError('syncfs', c.errno());
}

export { ENOTSUP };

const M_ARENA_MAX = -8;

/**
 * Caps glibc's malloc arenas. glibc gives each thread that contends for malloc an arena of
 * its own (up to 8 per core), and memory freed into one is rarely returned: with worker
 * threads streaming layers, that alone added ~70 MB of RSS (docs/BENCHMARKS.md). Call before
 * starting threads. Returns false where it cannot apply (another libc).
 */
export function limitMallocArenas(arenas: number): boolean {
  try {
    return libc().mallopt(M_ARENA_MAX, arenas) === 1;
  } catch {
    return false;
  }
}
