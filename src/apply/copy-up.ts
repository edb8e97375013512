import {
  chmodSync,
  constants,
  copyFileSync,
  lutimesSync,
  readlinkSync,
  symlinkSync,
} from 'node:fs';
import { fail } from '../errors.js';
import { mknod } from '../sys/index.js';
import type { ApplyContext } from './apply-context.js';
import { copyXattrs, setOwner } from './file-attrs.js';
import type { LowerEntry } from './lower.js';
import { splitName } from './resolve-path.js';

/**
 * Overlay: copies a lower layer's non-directory at the clean name `clean` into this layer
 * (content, owner, mode, times, xattrs), so that a hardlink entry can link to it — what
 * overlayfs itself does when a file of a lower layer is linked through the merged view.
 * Returns the copy's path.
 */
export function copyUp(ctx: ApplyContext, clean: string, found: LowerEntry): string {
  const { dir, base } = splitName(clean);
  const dest = `${ctx.resolver.dir(dir, 'make') as string}/${base}`;
  const st = found.stat;
  if (st.isFile()) {
    copyFileSync(found.path, dest, constants.COPYFILE_EXCL);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(found.path), dest);
  } else if (st.isFIFO()) {
    mknod(dest, 'fifo', st.mode);
  } else if (st.isCharacterDevice() || st.isBlockDevice()) {
    const rdev = BigInt(st.rdev);
    const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
    const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
    mknod(dest, st.isCharacterDevice() ? 'char' : 'block', st.mode, major, minor);
  } else {
    throw fail(
      'InvalidArgument',
      `${clean}: cannot copy up a ${st.isSocket() ? 'socket' : 'file'}`,
    );
  }
  setOwner(ctx, dest, st.uid, st.gid);
  if (!st.isSymbolicLink()) {
    copyXattrs(ctx, found.path, dest, clean);
    chmodSync(dest, st.mode & 0o7777);
  }
  lutimesSync(dest, st.atimeMs / 1000, st.mtimeMs / 1000);
  return dest;
}
