import {
  chmodSync,
  closeSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  rmSync,
  type Stats,
  unlinkSync,
} from 'node:fs';
import { fail } from '../errors.js';
import { lsetxattr } from '../sys/index.js';
import { copyXattrs, setOwner } from './file-attrs.js';
import { createLowerView, isWhiteoutDevice, type LowerView } from './lower.js';
import { createResolver, type PathResolver } from './resolve-path.js';
import type { DeferredLower, WhiteoutMode } from './types.js';

/** A directory whose mode and times are set after every entry (children change mtimes). */
interface DeferredDir {
  readonly path: string;
  readonly mode: number;
  readonly atime: number;
  readonly mtime: number;
}

/**
 * The state of one layer being applied, shared by the entry handlers: the resolver, what
 * this layer created (native opaque whiteouts keep it), directories to finish at the end.
 */
export interface ApplyContext {
  readonly root: string;
  readonly whiteouts: WhiteoutMode;
  readonly rootless: boolean;
  /** `trusted.overlay.opaque`, or `user.overlay.opaque` when rootless. */
  readonly opaqueXattr: string;
  readonly resolver: PathResolver;
  readonly lower: LowerView | undefined;
  /** With `parents: 'later'`: what needs the lower layers, recorded for `finishLower`. */
  readonly deferred: DeferredState | undefined;
  /** An fd being written, closed by `dispose` if the apply fails midway. */
  openFd: number | undefined;
  warn(key: string, message: string): void;
  /** Native mode: records `path` (a host path) and its ancestors as this layer's. */
  touch(path: string): void;
  /** True when this layer created `path` or something under it. */
  touched(path: string): boolean;
  /** Removes what is at `path` (never following a symlink) and keeps the cache right. */
  remove(path: string, st: Pick<Stats, 'isDirectory' | 'isSymbolicLink'>): void;
  /** Sets the overlay opaque xattr on a directory. */
  setOpaque(path: string): void;
  /** Sets `path`'s mode and times once every entry is applied. */
  deferDir(path: string, mode: number, atime: number, mtime: number): void;
  /** Restores directory times, applies deferred modes and times; closes what is open. */
  finish(): void;
  dispose(): void;
}

/** What an overlay layer applied before its parents exist leaves for `finishLower`. */
export class DeferredState {
  root = true;
  readonly dirs = new Set<string>();
  readonly links: { path: string; target: string }[] = [];
  /** Whiteouts in a directory this layer does not have: it may or may not exist below. */
  readonly whiteouts: { dir: string; name: string | null }[] = [];
  private readonly linked = new Set<string>();

  constructor(private readonly rootPath: string) {}

  /** An entry gave `path` its own metadata: nothing to take from below. */
  explicit(path: string): void {
    if (path === this.rootPath) this.root = false;
    else this.dirs.delete(path);
  }

  link(path: string, target: string): void {
    this.links.push({ path, target });
    this.linked.add(path);
  }

  /** A hardlink of this layer waits at `path`: a whiteout there must not hide it. */
  hasLink(path: string): boolean {
    return this.linked.has(path);
  }

  toJSON(): DeferredLower {
    const rel = (p: string) => p.slice(this.rootPath.length + 1);
    return {
      root: this.root,
      dirs: [...this.dirs].map(rel),
      links: this.links.map((l) => ({ path: rel(l.path), target: l.target })),
      whiteouts: this.whiteouts.map((w) => ({ ...w })),
    };
  }
}

export interface ContextOptions {
  readonly whiteouts: WhiteoutMode;
  readonly rootless: boolean;
  readonly parents: readonly string[] | 'later';
  readonly onWarning: ((message: string) => void) | undefined;
  /** Overlay with parents: the root takes the nearest parent's metadata (default true). */
  readonly inheritRoot?: boolean;
}

export function createContext(root: string, options: ContextOptions): ApplyContext {
  const { whiteouts, rootless } = options;
  const overlay = whiteouts === 'overlay';
  const opaqueXattr = rootless ? 'user.overlay.opaque' : 'trusted.overlay.opaque';
  const parents = options.parents === 'later' ? [] : options.parents;
  const deferred = overlay && options.parents === 'later' ? new DeferredState(root) : undefined;
  const lower = overlay && parents.length > 0 ? createLowerView(parents, opaqueXattr) : undefined;
  const warned = new Set<string>();
  const touchedPaths = whiteouts === 'delete' ? new Set<string>() : undefined;
  const created = new Set<string>();
  const savedTimes = new Map<string, { atime: number; mtime: number }>();
  const dirs: DeferredDir[] = [];
  const rel = (path: string) => path.slice(root.length + 1);

  const ctx: ApplyContext = {
    root,
    whiteouts,
    rootless,
    opaqueXattr,
    lower,
    deferred,
    openFd: undefined,
    resolver: createResolver(root, {
      existingDir(path, st) {
        // Its times change as entries land in it; put them back at the end, as umoci does.
        if (!created.has(path) && !savedTimes.has(path)) {
          savedTimes.set(path, { atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 });
        }
      },
      createdDir(path) {
        created.add(path);
        ctx.touch(path);
        if (lower) inheritFromLower(ctx, lower, path, rel(path));
        deferred?.dirs.add(path);
      },
      replaceNonDirectory(path, st) {
        // Overlay: `.wh.a` then `a/x` in one layer — a new `a` that hides the old one.
        if (!overlay || !isWhiteoutDevice(st)) return false;
        unlinkSync(path);
        mkdirSync(path, 0o755);
        chmodSync(path, 0o755);
        created.add(path);
        ctx.setOpaque(path);
        return true;
      },
    }),
    warn(key, message) {
      if (warned.has(key)) return;
      warned.add(key);
      options.onWarning?.(message);
    },
    touch(path) {
      if (touchedPaths === undefined) return;
      let r = rel(path);
      while (r !== '' && !touchedPaths.has(r)) {
        touchedPaths.add(r);
        const slash = r.lastIndexOf('/');
        r = slash < 0 ? '' : r.slice(0, slash);
      }
    },
    touched(path) {
      return touchedPaths?.has(rel(path)) ?? false;
    },
    remove(path, st) {
      if (path.length <= root.length + 1 || !path.startsWith(`${root}/`)) {
        throw fail('Internal', `refusing to remove ${path}: not under ${root}`);
      }
      if (st.isDirectory()) {
        rmSync(path, { recursive: true, force: true });
        ctx.resolver.invalidate();
      } else {
        unlinkSync(path);
        if (st.isSymbolicLink()) ctx.resolver.invalidate();
      }
    },
    setOpaque(path) {
      lsetxattr(path, opaqueXattr, Buffer.from('y'));
    },
    deferDir(path, mode, atime, mtime) {
      deferred?.explicit(path);
      dirs.push({ path, mode, atime, mtime });
    },
    finish() {
      const { resolver } = ctx;
      resolver.invalidate();
      for (const [path, t] of savedTimes) {
        if (resolver.isRealDir(path)) lutimesSync(path, t.atime, t.mtime);
      }
      // chmod follows symlinks: only ever on a path made of real directories.
      for (const d of dirs) {
        if (!resolver.isRealDir(d.path)) continue;
        chmodSync(d.path, d.mode);
        lutimesSync(d.path, d.atime, d.mtime);
      }
    },
    dispose() {
      if (ctx.openFd !== undefined) closeSync(ctx.openFd);
      ctx.openFd = undefined;
    },
  };
  // The root existed before: its times are restored unless the layer has an entry for it.
  const rootStat = lstatSync(root);
  savedTimes.set(root, { atime: rootStat.atimeMs / 1000, mtime: rootStat.mtimeMs / 1000 });
  if (lower && parents[0] !== undefined && options.inheritRoot !== false) {
    inheritRoot(ctx, parents[0]);
  }
  return ctx;
}

/**
 * Overlay: a directory this layer creates without an entry of its own (a parent of an
 * entry) takes the owner, mode, times and xattrs of the same directory below, so the
 * merged view does not change it (containerd's mkparent does the same).
 */
export function inheritFromLower(
  ctx: ApplyContext,
  lower: LowerView,
  path: string,
  rel: string,
): void {
  const found = lower.find(rel);
  if (found === undefined || !found.stat.isDirectory()) return;
  const st = found.stat;
  setOwner(ctx, path, st.uid, st.gid);
  copyXattrs(ctx, found.path, path, rel);
  ctx.deferDir(path, st.mode & 0o7777, st.atimeMs / 1000, st.mtimeMs / 1000);
}

/** Overlay: the layer's root shows as the merged root; it starts as its parent's. */
export function inheritRoot(ctx: ApplyContext, parent: string): void {
  const st = lstatSync(parent);
  setOwner(ctx, ctx.root, st.uid, st.gid);
  ctx.deferDir(ctx.root, st.mode & 0o7777, st.atimeMs / 1000, st.mtimeMs / 1000);
}
