import { chmodSync, lstatSync, mkdirSync, readlinkSync, type Stats } from 'node:fs';
import { fail } from '../errors.js';

/**
 * Path resolution inside a layer's root directory, as if the root were `/` (containerd's
 * `fs.RootPath`, umoci's securejoin): `..` stops at the root, a symlink met in a parent
 * component is followed but re-rooted at the root (an absolute target is relative to the
 * root), and the final component is never resolved — callers operate on it with l* calls.
 * Nothing outside the root is ever looked at, created or followed.
 *
 * Resolutions are cached per directory name, so an entry whose parent was seen before
 * costs one Map lookup instead of an lstat per component. Only the removal of a directory
 * or a symlink can make a cached resolution wrong (a directory is never replaced without
 * being removed first), and callers report those with `invalidate()`.
 *
 * Assumes one writer: nothing else changes the tree while a layer is applied.
 */

/**
 * - `find`: undefined when a component is missing or not a directory.
 * - `make`: creates missing directories; a non-directory component is an error.
 * - `make-or-skip`: creates missing directories; undefined when a component is not one.
 */
export type ResolveMode = 'find' | 'make' | 'make-or-skip';

export interface ResolverHooks {
  /** An existing directory met on a cache miss (to save its times before they change). */
  existingDir?(path: string, stat: Stats): void;
  /** A directory this resolver just created (mode 0755, owned by the caller). */
  createdDir?(path: string): void;
  /**
   * A non-directory met as a parent component in `make` mode. Returns true when it has
   * replaced it with a directory (overlay: a whiteout the same layer now fills again).
   */
  replaceNonDirectory?(path: string, stat: Stats): boolean;
}

export interface PathResolver {
  /** The host path of the directory named by the clean relative name `dir` ('' = root). */
  dir(dir: string, mode: ResolveMode): string | undefined;
  /** Records that the clean name `dir` is the real directory `path`. */
  remember(dir: string, path: string): void;
  /** Forgets every cached resolution; call after removing a directory or a symlink. */
  invalidate(): void;
  /**
   * True when the host path `path` (under the root) is a directory reached through real
   * directories only, no symlink anywhere; used before chmod/utimes by path at the end.
   */
  isRealDir(path: string): boolean;
}

/** Symlinks followed while resolving one name, as Linux's MAXSYMLINKS. */
const MAX_HOPS = 40;

export function createResolver(root: string, hooks: ResolverHooks = {}): PathResolver {
  const cache = new Map<string, string>();
  const verified = new Set<string>();

  function walk(dir: string, mode: ResolveMode): string | undefined {
    let queue = dir.split('/');
    let stack: string[] = [];
    let path = root;
    let hops = 0;
    let creating = false;
    for (let i = 0; i < queue.length; i++) {
      const c = queue[i] as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop();
        path = stack.length === 0 ? root : `${root}/${stack.join('/')}`;
        creating = false;
        continue;
      }
      const next = `${path}/${c}`;
      if (!creating) {
        const st = lstatSync(next, { throwIfNoEntry: false });
        if (st === undefined) {
          if (mode === 'find') return undefined;
          creating = true;
        } else if (st.isDirectory()) {
          hooks.existingDir?.(next, st);
          stack.push(c);
          path = next;
          continue;
        } else if (st.isSymbolicLink()) {
          if (++hops > MAX_HOPS) {
            throw fail(
              'InvalidArgument',
              `${JSON.stringify(dir)}: too many levels of symbolic links`,
            );
          }
          const target = readlinkSync(next);
          if (target.startsWith('/')) {
            stack = [];
            path = root;
          }
          queue = target.split('/').concat(queue.slice(i + 1));
          i = -1;
          continue;
        } else if (mode === 'make' && hooks.replaceNonDirectory?.(next, st)) {
          stack.push(c);
          path = next;
          continue;
        } else if (mode === 'make') {
          const at = stack.concat(c).join('/');
          throw fail('InvalidArgument', `${JSON.stringify(dir)}: ${at} is not a directory`);
        } else {
          return undefined;
        }
      }
      mkdirSync(next, 0o755);
      chmodSync(next, 0o755); // whatever the umask
      hooks.createdDir?.(next);
      stack.push(c);
      path = next;
    }
    return path;
  }

  return {
    dir(dir, mode) {
      if (dir === '') return root;
      const hit = cache.get(dir);
      if (hit !== undefined) return hit;
      const path = walk(dir, mode);
      if (path !== undefined) cache.set(dir, path);
      return path;
    },
    remember(dir, path) {
      cache.set(dir, path);
    },
    invalidate() {
      cache.clear();
      verified.clear();
    },
    isRealDir(path) {
      if (path === root) return true;
      if (!path.startsWith(`${root}/`)) return false;
      if (verified.has(path)) return true;
      const parent = path.slice(0, path.lastIndexOf('/'));
      if (!this.isRealDir(parent)) return false;
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st === undefined || !st.isDirectory()) return false;
      verified.add(path);
      return true;
    },
  };
}

const NEEDS_CLEANING = /(^|\/)\.{1,2}(\/|$)|\/\/|^\/|\/$/;

/**
 * The clean relative form of a tar name, as `filepath.Clean("/" + name)` without the
 * leading slash: '' for the root, never `.`/`..`/empty components.
 * @throws InvalidArgument when the name holds a NUL byte.
 */
export function cleanName(name: string): string {
  if (name.includes('\0')) throw fail('InvalidArgument', `${JSON.stringify(name)}: NUL in name`);
  if (!NEEDS_CLEANING.test(name)) return name;
  const out: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return out.join('/');
}

/** Splits a clean name into its parent's clean name and its last component. */
export function splitName(clean: string): { readonly dir: string; readonly base: string } {
  const slash = clean.lastIndexOf('/');
  return slash < 0
    ? { dir: '', base: clean }
    : { dir: clean.slice(0, slash), base: clean.slice(slash + 1) };
}
