import { lstatSync, type Stats } from 'node:fs';
import { lgetxattr } from '../sys/index.js';

/**
 * The merged view of an overlay layer's parents (lower layers, nearest first), read-only.
 * A path is looked up literally, the way overlayfs stacks layers: the nearest layer that
 * has it wins; a whiteout (0:0 character device) or a non-directory at the path or above
 * it, or an opaque directory above it, hides every layer further down. Symlinks in the
 * lower layers are never followed, so nothing outside the layers is read.
 */
export interface LowerView {
  /** The visible lower entry at a clean relative path, or undefined. */
  find(rel: string): LowerEntry | undefined;
}

export interface LowerEntry {
  readonly path: string;
  readonly stat: Stats;
}

export function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export function createLowerView(parents: readonly string[], opaqueXattr: string): LowerView {
  const isOpaque = (path: string) => lgetxattr(path, opaqueXattr)?.toString() === 'y';

  /**
   * Looks at the parent directories of `comps` in one layer, top down (so no symlink is
   * ever followed): `hidden` when one is not a directory, `missing` when one is absent,
   * else whether one of them is opaque (layers below are then hidden).
   */
  function ancestors(layer: string, comps: readonly string[]) {
    let path = layer;
    let opaque = false;
    for (let i = 0; i < comps.length - 1; i++) {
      path = `${path}/${comps[i]}`;
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st === undefined) return { state: 'missing', opaque } as const;
      if (!st.isDirectory()) return { state: 'hidden', opaque } as const;
      opaque ||= isOpaque(path);
    }
    return { state: 'present', opaque } as const;
  }

  return {
    find(rel) {
      if (rel === '') return undefined;
      const comps = rel.split('/');
      for (const layer of parents) {
        const { state, opaque } = ancestors(layer, comps);
        if (state === 'hidden') return undefined;
        if (state === 'present') {
          const path = `${layer}/${rel}`;
          const stat = lstatSync(path, { throwIfNoEntry: false });
          if (stat !== undefined) return isWhiteoutDevice(stat) ? undefined : { path, stat };
        }
        if (opaque) return undefined;
      }
      return undefined;
    },
  };
}
