import { createRequire } from 'node:module';
import { constants } from 'node:os';

/**
 * The libc functions Node's fs lacks, bound through koffi (an FFI library whose npm package
 * ships prebuilt binaries, so it installs without a build step). Loaded on first use, so
 * code paths that never need them never load the FFI.
 */
export interface Libc {
  flock(fd: number, operation: number): number;
  mknod(path: string, mode: number, dev: bigint | number): number;
  lsetxattr(path: string, name: string, value: Buffer, size: number, flags: number): number;
  lgetxattr(path: string, name: string, value: Buffer | null, size: number): number | bigint;
  llistxattr(path: string, list: Buffer | null, size: number): number | bigint;
  lremovexattr(path: string, name: string): number;
  mount(
    source: string,
    target: string,
    fstype: string | null,
    flags: number,
    data: string | null,
  ): number;
  umount2(target: string, flags: number): number;
  syncfs(fd: number): number;
  mallopt(param: number, value: number): number;
  errno(): number;
}

let bound: Libc | undefined;

export function libc(): Libc {
  bound ??= bind();
  return bound;
}

function bind(): Libc {
  const require = createRequire(import.meta.url);
  const koffi = require('koffi') as typeof import('koffi');
  const lib = koffi.load('libc.so.6');
  return {
    flock: lib.func('int flock(int fd, int operation)'),
    mknod: lib.func('int mknod(const char *path, uint32_t mode, uint64_t dev)'),
    lsetxattr: lib.func(
      'int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)',
    ),
    lgetxattr: lib.func(
      'intptr_t lgetxattr(const char *path, const char *name, _Out_ void *value, size_t size)',
    ),
    llistxattr: lib.func('intptr_t llistxattr(const char *path, _Out_ void *list, size_t size)'),
    lremovexattr: lib.func('int lremovexattr(const char *path, const char *name)'),
    mount: lib.func(
      'int mount(const char *source, const char *target, const char *fstype, unsigned long flags, const char *data)',
    ),
    umount2: lib.func('int umount2(const char *target, int flags)'),
    syncfs: lib.func('int syncfs(int fd)'),
    mallopt: lib.func('int mallopt(int param, int value)'),
    errno: () => koffi.errno(),
  } as Libc;
}

const ERRNO_NAMES = new Map<number, string>(
  Object.entries(constants.errno).map(([name, value]) => [value, name]),
);

/** An Error shaped like Node's system errors (`code`, `errno`, `syscall`, `path`). */
export function systemError(syscall: string, errnum: number, path?: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errnum) ?? `E${errnum}`;
  const where = path === undefined ? '' : ` '${path}'`;
  const err: NodeJS.ErrnoException = new Error(`${code}: ${syscall}${where} failed`);
  err.code = code;
  err.errno = -errnum;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  return err;
}
