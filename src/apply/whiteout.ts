import { lstatSync, readdirSync } from 'node:fs';
import { fail } from '../errors.js';
import { mknod } from '../sys/index.js';
import type { ApplyContext } from './apply-context.js';
import { setOwner } from './file-attrs.js';
import { isWhiteoutDevice } from './lower.js';
import type { TarEntry } from './tar-reader.js';

/**
 * OCI whiteouts (https://github.com/opencontainers/image-spec/blob/main/layer.md#whiteouts):
 * `DIR/.wh.NAME` deletes DIR/NAME of the layers below; `DIR/.wh..wh..opq` hides all of
 * DIR's content below. They only ever act on lower layers: what this same layer puts at
 * that path stays (for a directory, what this layer put in it stays).
 *
 * - native (the layer dir is a copy of its parent): delete what the lower layers put there,
 *   keeping what this layer created (umoci's approach: the set of touched paths).
 * - overlay (the layer dir holds only this layer): a 0:0 character device for `.wh.NAME`,
 *   or the opaque xattr on a directory this layer already has at NAME; the opaque xattr on
 *   DIR for `.wh..wh..opq`.
 *
 * A whiteout name of `.`, `..` or nothing is an error, as in containerd; other
 * `.wh..wh.*` names are AUFS metadata and are ignored with a warning.
 */

const PREFIX = '.wh.';
const OPAQUE = '.wh..wh..opq';
const META_PREFIX = '.wh..wh.';

export function isWhiteoutName(base: string): boolean {
  return base.startsWith(PREFIX);
}

/** Applies the whiteout entry `dir/base` (clean names; `base` starts with `.wh.`). */
export function whiteout(ctx: ApplyContext, e: TarEntry, dir: string, base: string): void {
  if (base === OPAQUE) {
    if (ctx.whiteouts === 'delete') opaqueNative(ctx, dir);
    else opaqueOverlay(ctx, dir);
    return;
  }
  if (base.startsWith(META_PREFIX)) {
    ctx.warn(`aufs:${base}`, `${JSON.stringify(e.name)}: AUFS metadata entry ignored`);
    return;
  }
  const name = base.slice(PREFIX.length);
  if (name === '' || name === '.' || name === '..') {
    throw fail('InvalidArgument', `invalid whiteout name ${JSON.stringify(base)}`);
  }
  if (ctx.whiteouts === 'delete') deleteNative(ctx, dir, name);
  else markOverlay(ctx, e.uid, e.gid, dir, name);
}

function deleteNative(ctx: ApplyContext, dir: string, name: string): void {
  const parent = ctx.resolver.dir(dir, 'find');
  if (parent === undefined) return; // nothing below to delete
  const path = `${parent}/${name}`;
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) return;
  if (!ctx.touched(path)) ctx.remove(path, st);
  else if (st.isDirectory()) removeUntouched(ctx, path);
}

function opaqueNative(ctx: ApplyContext, dir: string): void {
  const path = ctx.resolver.dir(dir, 'find');
  if (path !== undefined) removeUntouched(ctx, path);
}

/** Removes what the lower layers left in `dir`, keeping what this layer created. */
function removeUntouched(ctx: ApplyContext, dir: string): void {
  for (const child of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${child.name}`;
    if (!ctx.touched(path)) ctx.remove(path, child);
    else if (child.isDirectory()) removeUntouched(ctx, path);
  }
}

/** Overlay `dir/.wh.name`; exported for `finishLower`, which places deferred whiteouts. */
export function markOverlay(
  ctx: ApplyContext,
  uid: number,
  gid: number,
  dir: string,
  name: string,
): void {
  const parent = overlayParent(ctx, dir, name);
  if (parent === undefined) return;
  const path = `${parent}/${name}`;
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (st === undefined) {
    if (ctx.deferred?.hasLink(path)) return; // this layer's own file arrives at commit
    mknod(path, 'char', 0, 0, 0);
    setOwner(ctx, path, uid, gid);
  } else if (st.isDirectory() && !isWhiteoutDevice(st)) {
    ctx.setOpaque(path); // this layer's directory stays, what is below goes
  }
  // else: a whiteout already, or this layer's own file, which hides what is below anyway
}

/** Overlay `dir/.wh..wh..opq`; exported for `finishLower`. */
export function opaqueOverlay(ctx: ApplyContext, dir: string): void {
  const path = overlayParent(ctx, dir, null);
  if (path !== undefined) ctx.setOpaque(path);
}

/**
 * The directory of an overlay whiteout, created when missing (like containerd), unless
 * the parents are known and have no such directory (then there is nothing to hide), or a
 * component is not a directory (this layer replaced it: nothing below shows through).
 * Parents not there yet (`'later'`): recorded for `finishLower`.
 */
function overlayParent(ctx: ApplyContext, dir: string, name: string | null): string | undefined {
  const found = ctx.resolver.dir(dir, 'find');
  if (found !== undefined) return found;
  if (ctx.deferred !== undefined) {
    // Whether the layers below have `dir` is not known yet: decide at commit.
    ctx.deferred.whiteouts.push({ dir, name });
    return undefined;
  }
  if (ctx.lower !== undefined && !ctx.lower.find(dir)?.stat.isDirectory()) return undefined;
  return ctx.resolver.dir(dir, 'make-or-skip');
}
