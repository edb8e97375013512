import { linkSync, lstatSync } from 'node:fs';
import { fail, fromSystem, isCode } from '../errors.js';
import { createContext, inheritFromLower } from './apply-context.js';
import { copyUp } from './copy-up.js';
import { type createLowerView, isWhiteoutDevice } from './lower.js';
import { splitName } from './resolve-path.js';
import type { DeferredLower } from './types.js';
import { markOverlay, opaqueOverlay } from './whiteout.js';

export interface FinishLowerOptions {
  /** The parent layers' directories, nearest first, now committed. */
  readonly parents: readonly string[];
  readonly rootless?: boolean;
  readonly onWarning?: (message: string) => void;
}

/**
 * Completes an overlay layer applied with `parents: 'later'`, once its parents exist:
 * implicit directories and the root take their metadata from below, and hardlinks to files
 * of lower layers are made by copying the file up (what the applier does at once when it
 * has the parents). Nothing outside `target` is touched; the lower layers are only read.
 * @throws InvalidArgument when a deferred hardlink's target exists in no layer.
 */
export function finishLower(
  target: string,
  deferred: DeferredLower,
  options: FinishLowerOptions,
): void {
  const { root, dirs, links, whiteouts } = deferred;
  if (!root && dirs.length === 0 && links.length === 0 && whiteouts.length === 0) return;
  if (options.parents.length === 0) {
    // The base layer: nothing below. Whiteouts hide nothing; links must be in the layer.
    const missing = links[0];
    if (missing)
      throw fail(
        'InvalidArgument',
        `hardlink ${missing.path}: target ${JSON.stringify(missing.target)} not found`,
      );
    return;
  }
  // With the parents known, directories made from here on take their metadata from below.
  const ctx = createContext(target, {
    whiteouts: 'overlay',
    rootless: options.rootless ?? process.getuid?.() !== 0,
    parents: options.parents,
    inheritRoot: root,
    onWarning: options.onWarning,
  });
  const lower = ctx.lower!;
  try {
    for (const rel of dirs) {
      const path = `${ctx.root}/${rel}`;
      // Still a real directory of this layer (a later entry may have replaced it).
      if (ctx.resolver.isRealDir(path)) inheritFromLower(ctx, lower, path, rel);
    }
    for (const link of links) linkFromBelow(ctx, lower, link);
    for (const w of whiteouts) {
      if (w.name === null) opaqueOverlay(ctx, w.dir);
      else markOverlay(ctx, 0, 0, w.dir, w.name);
    }
    ctx.finish();
  } catch (err) {
    throw isCode(err) ? err : fromSystem(err, `layer ${target}`);
  } finally {
    ctx.dispose();
  }
}

function linkFromBelow(
  ctx: ReturnType<typeof createContext>,
  lower: ReturnType<typeof createLowerView>,
  link: { readonly path: string; readonly target: string },
): void {
  // Resolved again, safely: a later entry may have replaced a directory on the way.
  const at = splitName(link.path);
  const path = `${ctx.resolver.dir(at.dir, 'make') as string}/${at.base}`;
  if (lstatSync(path, { throwIfNoEntry: false }) !== undefined) return; // replaced or whited out since
  // The target may be in this layer after all (another deferred link made it), else below.
  const { dir, base } = splitName(link.target);
  const parent = ctx.resolver.dir(dir, 'find');
  let source = parent === undefined ? undefined : `${parent}/${base}`;
  const here = source === undefined ? undefined : lstatSync(source, { throwIfNoEntry: false });
  if (here !== undefined && isWhiteoutDevice(here)) {
    throw fail('InvalidArgument', `hardlink target ${JSON.stringify(link.target)} not found`);
  }
  if (here === undefined) {
    const found = lower.find(link.target);
    if (found === undefined || found.stat.isDirectory()) {
      throw fail(
        'InvalidArgument',
        `hardlink ${link.path}: target ${JSON.stringify(link.target)} not found`,
      );
    }
    source = copyUp(ctx, link.target, found);
  } else if (here.isDirectory()) {
    throw fail('InvalidArgument', `hardlink target ${JSON.stringify(link.target)} is a directory`);
  }
  linkSync(source!, path);
}
