import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fchownSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  symlinkSync,
  writeSync,
} from 'node:fs';
import { errno, fail, fromSystem, isCode } from '../errors.js';
import { mknod } from '../sys/index.js';
import type { ApplyContext } from './apply-context.js';
import { copyUp } from './copy-up.js';
import { clearXattrs, setOwner, setXattrs } from './file-attrs.js';
import { isWhiteoutDevice } from './lower.js';
import { cleanName, splitName } from './resolve-path.js';
import type { TarBodySink, TarEntry } from './tar-reader.js';
import { isWhiteoutName, whiteout } from './whiteout.js';

/** O_EXCL: never reuse (or write through) what is there; libuv adds O_CLOEXEC. */
const CREATE_FLAGS =
  constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Applies one tar entry under the context's root; returns the sink for a regular file's
 * data. Whatever exists at the entry's path is removed first (never followed), except a
 * directory met by a directory entry, which is merged. Errors name the entry.
 * @throws InvalidArgument for entries that cannot be applied as written.
 */
export function applyEntry(ctx: ApplyContext, entry: TarEntry): TarBodySink | undefined {
  try {
    return apply(ctx, entry);
  } catch (err) {
    throw entryError(err, entry);
  }
}

function apply(ctx: ApplyContext, e: TarEntry): TarBodySink | undefined {
  if (e.lossyName) {
    ctx.warn(`lossy:${e.name}`, `${JSON.stringify(e.name)}: name is not UTF-8; decoded lossily`);
  }
  const clean = cleanName(e.name);
  if (clean === '') {
    applyRoot(ctx, e);
    return undefined;
  }
  const { dir, base } = splitName(clean);
  if (isWhiteoutName(base)) {
    whiteout(ctx, e, dir, base);
    return undefined;
  }
  if (e.devmajor > 0xffffffff || e.devminor > 0xffffffff) {
    throw fail('InvalidArgument', `device number ${e.devmajor}:${e.devminor} out of range`);
  }
  if ((e.type === 'char' || e.type === 'block') && ctx.rootless) {
    ctx.warn(`device:${clean}`, `${clean}: device node skipped (not root)`);
    return undefined;
  }
  const parent = ctx.resolver.dir(dir, 'make') as string;
  const path = `${parent}/${base}`;
  let sink: TarBodySink | undefined;
  switch (e.type) {
    case 'file':
      sink = file(ctx, e, path);
      break;
    case 'directory':
      directory(ctx, e, path);
      ctx.resolver.remember(clean, path);
      break;
    case 'symlink':
      symlink(ctx, e, path);
      break;
    case 'link':
      hardlink(ctx, e, path);
      break;
    case 'char':
    case 'block':
    case 'fifo':
      if (!node(ctx, e, path)) return undefined;
      break;
  }
  ctx.touch(path);
  return sink;
}

/**
 * Runs `make`, which creates `path` and fails with EEXIST when something is there (never
 * following it: O_EXCL, mkdir, symlink, link and mknod all refuse); then removes what is
 * there and runs `make` again. Optimistic, so a new name costs no lstat.
 */
function create(ctx: ApplyContext, path: string, make: () => void): void {
  try {
    make();
    return;
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw err;
  }
  ctx.remove(path, lstatSync(path));
  make();
}

/** An entry for the root itself: its metadata applies to the root; its type cannot change. */
function applyRoot(ctx: ApplyContext, e: TarEntry): void {
  if (e.type !== 'directory') {
    throw fail('InvalidArgument', `refusing to replace the root directory with a ${e.type}`);
  }
  mergeDirectory(ctx, e, ctx.root);
}

function file(ctx: ApplyContext, e: TarEntry, path: string): TarBodySink | undefined {
  let fd = -1;
  create(ctx, path, () => {
    fd = openSync(path, CREATE_FLAGS, 0o600);
  });
  ctx.openFd = fd;
  const finish = () => {
    if (!ctx.rootless) fchownSync(fd, e.uid, e.gid);
    setXattrs(ctx, path, e.name, e.xattrs, true);
    fchmodSync(fd, e.mode);
    futimesSync(fd, e.atime ?? e.mtime, e.mtime);
    ctx.openFd = undefined;
    closeSync(fd);
  };
  if (e.size === 0) {
    finish();
    return undefined;
  }
  return {
    write(chunk) {
      let done = 0;
      while (done < chunk.length) done += writeSync(fd, chunk, done, chunk.length - done);
    },
    end: finish,
  };
}

function directory(ctx: ApplyContext, e: TarEntry, path: string): void {
  // Its mode is set at the end (0700 until then), so that entries can land in it.
  let replacedWhiteout = false;
  try {
    mkdirSync(path, 0o700);
  } catch (err) {
    if (errno(err) !== 'EEXIST') throw err;
    const existing = lstatSync(path);
    if (existing.isDirectory()) {
      mergeDirectory(ctx, e, path);
      return;
    }
    replacedWhiteout = isWhiteoutDevice(existing);
    ctx.remove(path, existing);
    mkdirSync(path, 0o700);
  }
  setOwner(ctx, path, e.uid, e.gid);
  setXattrs(ctx, path, e.name, e.xattrs, true);
  // Overlay: `.wh.d` then `d/` in one layer is a new directory hiding the old one.
  if (replacedWhiteout && ctx.whiteouts === 'overlay') ctx.setOpaque(path);
  ctx.deferDir(path, e.mode, e.atime ?? e.mtime, e.mtime);
}

function mergeDirectory(ctx: ApplyContext, e: TarEntry, path: string): void {
  setOwner(ctx, path, e.uid, e.gid);
  clearXattrs(path, e.xattrs);
  setXattrs(ctx, path, e.name, e.xattrs, true);
  ctx.deferDir(path, e.mode, e.atime ?? e.mtime, e.mtime);
}

function symlink(ctx: ApplyContext, e: TarEntry, path: string): void {
  if (e.linkname === '' || e.linkname.includes('\0')) {
    throw fail('InvalidArgument', 'invalid symlink target');
  }
  create(ctx, path, () => symlinkSync(e.linkname, path));
  setOwner(ctx, path, e.uid, e.gid);
  setXattrs(ctx, path, e.name, e.xattrs, false);
  lutimesSync(path, e.atime ?? e.mtime, e.mtime);
}

/**
 * A hardlink to an earlier entry, resolved inside the root like any name (a symlink in its
 * parents is re-rooted; its last component is not followed, so a link to a symlink links
 * the symlink). The target must exist and not be a directory. In overlay mode a target
 * that lives in a lower layer is copied up first. Like GNU tar and umoci, the entry's own
 * metadata is not applied: it would change the target's.
 */
function hardlink(ctx: ApplyContext, e: TarEntry, path: string): void {
  const clean = cleanName(e.linkname);
  if (clean === '') throw fail('InvalidArgument', 'hardlink to the root directory');
  const { dir, base } = splitName(clean);
  const parent = ctx.resolver.dir(dir, 'find');
  let target = parent === undefined ? undefined : `${parent}/${base}`;
  let st = target === undefined ? undefined : lstatSync(target, { throwIfNoEntry: false });
  const whitedOut = ctx.whiteouts === 'overlay' && st !== undefined && isWhiteoutDevice(st);
  if (whitedOut) st = undefined; // deleted by this layer: nothing to link to
  if (st === undefined && !whitedOut && ctx.lower !== undefined) {
    const found = ctx.lower.find(clean);
    if (found !== undefined && !found.stat.isDirectory()) {
      target = copyUp(ctx, clean, found);
      st = lstatSync(target);
    }
  }
  if ((st === undefined || target === undefined) && !whitedOut && ctx.deferred !== undefined) {
    // The target may be in a parent layer that is not committed yet: link it at commit.
    ctx.deferred.link(path, clean);
    return;
  }
  if (st === undefined || target === undefined) {
    throw fail('InvalidArgument', `hardlink target ${JSON.stringify(e.linkname)} not found`);
  }
  if (st.isDirectory()) {
    throw fail('InvalidArgument', `hardlink target ${JSON.stringify(e.linkname)} is a directory`);
  }
  if (target === path) return; // a link to itself: already there
  const from = target;
  create(ctx, path, () => linkSync(from, path));
}

/** Device nodes and fifos; false when a device was skipped (no CAP_MKNOD, as in a userns). */
function node(ctx: ApplyContext, e: TarEntry, path: string): boolean {
  const kind = e.type === 'fifo' ? 'fifo' : e.type === 'char' ? 'char' : 'block';
  try {
    create(ctx, path, () => mknod(path, kind, e.mode, e.devmajor, e.devminor));
  } catch (err) {
    if (kind === 'fifo' || errno(err) !== 'EPERM') throw err;
    ctx.warn(`device:${path}`, `${e.name}: device node skipped (mknod not permitted)`);
    return false;
  }
  setOwner(ctx, path, e.uid, e.gid);
  setXattrs(ctx, path, e.name, e.xattrs, false);
  chmodNode(path, e.mode);
  lutimesSync(path, e.atime ?? e.mtime, e.mtime);
  return true;
}

function chmodNode(path: string, mode: number): void {
  // The node was just made by mknod at this path, under real directories (see
  // resolve-path), so chmod cannot land anywhere else. Never open a device to fchmod it.
  const st = lstatSync(path);
  if (st.isSymbolicLink()) throw fail('Internal', `${path}: replaced while being applied`);
  chmodSync(path, mode);
}

/** Errors a malformed or inconsistent archive provokes; the rest are the system's. */
const ARCHIVE_ERRNOS = new Set([
  'ENOENT',
  'ENOTDIR',
  'EEXIST',
  'ELOOP',
  'EISDIR',
  'ENAMETOOLONG',
  'EINVAL',
  'ENOTEMPTY',
  'EMLINK',
  'E2BIG',
  'ERANGE',
  'EXDEV',
]);

function entryError(err: unknown, e: TarEntry) {
  const subject = `layer entry ${JSON.stringify(e.name)}`;
  if (isCode(err)) {
    return err.message.startsWith('layer entry ') || err.message.startsWith('tar at offset')
      ? err
      : fail(err.code, `${subject}: ${err.message}`, err);
  }
  const code = errno(err);
  if (code !== undefined && ARCHIVE_ERRNOS.has(code)) {
    return fail('InvalidArgument', `${subject}: ${(err as Error).message}`, err);
  }
  return fromSystem(err, subject);
}
