import { lchownSync } from 'node:fs';
import { errno } from '../errors.js';
import { lgetxattr, llistxattr, lremovexattr, lsetxattr } from '../sys/index.js';

/**
 * Ownership and extended attributes of applied entries. Everything here acts on the path
 * itself, never through a symlink (lchown, lsetxattr). Order matters and is the callers':
 * data, then owner (chown clears setuid/setgid and security.capability), then xattrs,
 * then mode, then times.
 */

/** What setting owners and xattrs needs of the apply (ApplyContext is one). */
export interface AttrContext {
  /** No privileges: owners are not set, refused xattrs are skipped. */
  readonly rootless: boolean;
  /** A warning, said once per `key`. */
  warn(key: string, message: string): void;
}

/** Overlayfs's own metadata: never taken from an archive, never cleared by a merge. */
export function isOverlayXattr(name: string): boolean {
  return name.startsWith('trusted.overlay.') || name.startsWith('user.overlay.');
}

/** Host-specific xattrs that umoci also refuses to carry between machines. */
const HOST_XATTRS = new Set(['security.selinux', 'system.nfs4_acl']);

export function setOwner(ctx: AttrContext, path: string, uid: number, gid: number): void {
  if (!ctx.rootless) lchownSync(path, uid, gid);
}

/**
 * Sets the archive's xattrs on `path`. Skipped with a warning: overlayfs's own xattrs (a
 * layer must not be able to redirect or hide files in the overlay), host-specific ones,
 * and those the filesystem or our privileges refuse (ENOTSUP; EPERM when rootless, or for
 * `user.*` on a symlink or device, which Linux forbids).
 */
export function setXattrs(
  ctx: AttrContext,
  path: string,
  name: string,
  xattrs: ReadonlyMap<string, Uint8Array> | undefined,
  regularOrDir: boolean,
): void {
  if (xattrs === undefined) return;
  for (const [key, value] of xattrs) {
    if (isOverlayXattr(key) || HOST_XATTRS.has(key)) {
      ctx.warn(`xattr-refused:${key}`, `${name}: xattr ${key} from the archive ignored`);
      continue;
    }
    try {
      lsetxattr(path, key, value);
    } catch (err) {
      const code = errno(err);
      if (code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
        ctx.warn(
          'xattr-enotsup',
          `${name}: the filesystem does not support xattr ${key}; xattrs not set`,
        );
      } else if (code === 'EPERM' && (ctx.rootless || (key.startsWith('user.') && !regularOrDir))) {
        ctx.warn(`xattr-eperm:${key}`, `${name}: xattr ${key} not permitted; skipped`);
      } else {
        throw err;
      }
    }
  }
}

/**
 * Removes the xattrs of an existing directory that the archive's entry for it does not
 * list: a directory entry describes the directory's whole state, as overlayfs shows it.
 */
export function clearXattrs(path: string, keep: ReadonlyMap<string, Uint8Array> | undefined): void {
  let names: string[];
  try {
    names = llistxattr(path);
  } catch (err) {
    if (errno(err) === 'ENOTSUP') return;
    throw err;
  }
  for (const key of names) {
    if (keep?.has(key) || isOverlayXattr(key) || HOST_XATTRS.has(key)) continue;
    lremovexattr(path, key);
  }
}

/** Copies the xattrs of `from` (a lower layer) to `to`, overlay ones excepted. */
export function copyXattrs(ctx: AttrContext, from: string, to: string, name: string): void {
  let names: string[];
  try {
    names = llistxattr(from);
  } catch (err) {
    if (errno(err) === 'ENOTSUP') return;
    throw err;
  }
  const xattrs = new Map<string, Uint8Array>();
  for (const key of names) {
    if (isOverlayXattr(key)) continue;
    const value = lgetxattr(from, key);
    if (value !== undefined) xattrs.set(key, value);
  }
  setXattrs(ctx, to, name, xattrs, true);
}
