import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMainThread } from 'node:worker_threads';
import { errno, fail, fromSystem, throwIfAborted } from '../errors.js';
import { mount, unmount } from '../sys/index.js';
import type { Mount } from './types.js';

/** mount(2) flags by option name: [flag, true when the option clears it]. */
const FLAGS: Readonly<Record<string, readonly [number, boolean]>> = {
  ro: [0x1, false],
  rw: [0x1, true],
  nosuid: [0x2, false],
  suid: [0x2, true],
  nodev: [0x4, false],
  dev: [0x4, true],
  noexec: [0x8, false],
  exec: [0x8, true],
  sync: [0x10, false],
  async: [0x10, true],
  remount: [0x20, false],
  noatime: [0x400, false],
  atime: [0x400, true],
  nodiratime: [0x800, false],
  diratime: [0x800, true],
  bind: [0x1000, false],
  rbind: [0x1000 | 0x4000, false],
  relatime: [0x200000, false],
  norelatime: [0x200000, true],
  strictatime: [0x1000000, false],
};
const MS_RDONLY = 0x1;
const MS_REMOUNT = 0x20;
const MS_BIND = 0x1000;
const MS_REC = 0x4000;

/** The kernel copies at most one page of mount data; the rest is silently cut. */
const PAGE_SIZE = 4096;

/** Splits mount options into mount(2) flags and the filesystem's data string. */
export function parseOptions(options: readonly string[]): { flags: number; data: string[] } {
  let flags = 0;
  const data: string[] = [];
  for (const option of options) {
    const known = FLAGS[option];
    if (known === undefined) data.push(option);
    else if (known[1]) flags &= ~known[0];
    else flags |= known[0];
  }
  return { flags, data };
}

export interface MountAllOptions {
  /** Mount everything read-only, whatever the mounts say. */
  readonly readonly?: boolean;
}

/**
 * Mounts `mounts` on `target` in order (each on top of the previous), like containerd's
 * `mount.All`. Needs root (CAP_SYS_ADMIN). On failure the mounts already made are undone.
 * @throws PermissionDenied without the privilege; InvalidArgument for overlay options that
 * do not fit a page even when shortened; Internal for other mount(2) failures.
 */
export async function mountAll(
  mounts: readonly Mount[],
  target: string,
  options: MountAllOptions = {},
): Promise<void> {
  let done = 0;
  try {
    for (const m of mounts) {
      mountOne(m, target, options.readonly ?? false);
      done++;
    }
  } catch (err) {
    for (; done > 0; done--) {
      try {
        unmount(target, { lazy: true });
      } catch {
        // best effort: report the mount failure, not this one
      }
    }
    throw err;
  }
}

function mountOne(m: Mount, target: string, readonly: boolean): void {
  const parsed = parseOptions(m.options);
  const flags = parsed.flags | (readonly ? MS_RDONLY : 0);
  const subject =
    m.type === 'overlay'
      ? `overlay mount on ${target}`
      : `${m.type} mount of ${m.source} on ${target}`;
  try {
    if (m.type === 'bind' || flags & MS_BIND) {
      mountBind(m.source, target, flags);
    } else if (m.type === 'overlay') {
      mountOverlay(m.source, target, flags, parsed.data);
    } else {
      mount(m.source, target, m.type, flags, parsed.data.join(',') || null);
    }
  } catch (err) {
    throw fromSystem(err, subject);
  }
}

/** A bind mount ignores MS_RDONLY on creation: read-only takes a second, remount call. */
function mountBind(source: string, target: string, flags: number): void {
  const bind = MS_BIND | (flags & MS_REC);
  mount(source, target, null, bind, null);
  const rest = flags & ~(MS_BIND | MS_REC);
  if (rest === 0) return;
  try {
    mount('', target, null, MS_REMOUNT | MS_BIND | rest, null);
  } catch (err) {
    unmount(target, { lazy: true });
    throw err;
  }
}

/**
 * An overlay mount whose options exceed a page (128 lowerdirs of absolute paths) is made
 * from the directory holding the layers, with paths relative to it (containerd's
 * `compactLowerdirOption`). The chdir is process-wide but lasts one synchronous call:
 * no other JavaScript runs meanwhile, and strata's own file work uses absolute paths.
 */
function mountOverlay(
  source: string,
  target: string,
  flags: number,
  data: readonly string[],
): void {
  const joined = data.join(',');
  if (Buffer.byteLength(joined) < PAGE_SIZE) {
    mount(source, target, 'overlay', flags, joined);
    return;
  }
  const compact = compactOverlayOptions(data);
  if (compact === undefined || Buffer.byteLength(compact.data) >= PAGE_SIZE) {
    throw fail(
      'InvalidArgument',
      `overlay on ${target}: mount options are ${Buffer.byteLength(joined)} bytes, over the ${PAGE_SIZE}-byte page even with relative paths`,
    );
  }
  if (!isMainThread) {
    throw fail(
      'FailedPrecondition',
      `overlay on ${target}: options over a page are mounted with relative paths after a chdir, which worker threads cannot do: mount from the main thread`,
    );
  }
  const absoluteTarget = resolve(target);
  const cwd = process.cwd();
  process.chdir(compact.dir);
  try {
    mount(source, absoluteTarget, 'overlay', flags, compact.data);
  } finally {
    process.chdir(cwd);
  }
}

const PATH_OPTIONS = ['lowerdir=', 'upperdir=', 'workdir='] as const;

/**
 * Rewrites lowerdir, upperdir and workdir relative to their deepest common directory.
 * Undefined when a path is not absolute or nothing is shared.
 */
export function compactOverlayOptions(
  data: readonly string[],
): { dir: string; data: string } | undefined {
  const paths: string[] = [];
  for (const option of data) {
    const prefix = PATH_OPTIONS.find((p) => option.startsWith(p));
    if (prefix === 'lowerdir=') paths.push(...option.slice(prefix.length).split(':'));
    else if (prefix !== undefined) paths.push(option.slice(prefix.length));
  }
  if (paths.length === 0 || !paths.every(isAbsolute)) return undefined;
  const dir = commonDir(paths);
  if (dir === sep) return undefined;
  const rel = (p: string) => relative(dir, p);
  const rewritten = data.map((option) => {
    const prefix = PATH_OPTIONS.find((p) => option.startsWith(p));
    if (prefix === undefined) return option;
    const value = option.slice(prefix.length);
    return prefix + (prefix === 'lowerdir=' ? value.split(':').map(rel).join(':') : rel(value));
  });
  return { dir, data: rewritten.join(',') };
}

/** The deepest directory that is a strict ancestor of every path. */
function commonDir(paths: readonly string[]): string {
  let dir = dirname(resolve(paths[0]!));
  for (const p of paths) {
    const abs = resolve(p);
    while (dir !== sep && !abs.startsWith(dir + sep)) dir = dirname(dir);
  }
  return dir;
}

export interface UnmountOptions {
  /** Detach busy mounts (MNT_DETACH) instead of failing. */
  readonly lazy?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * Unmounts every mount stacked on `target` (until it is no mount point). A busy mount is
 * retried for about a second before failing with Unavailable.
 */
export async function unmountAll(target: string, options: UnmountOptions = {}): Promise<void> {
  for (let busy = 0; ; ) {
    throwIfAborted(options.signal);
    try {
      unmount(target, { lazy: options.lazy ?? false });
      busy = 0;
    } catch (err) {
      const code = errno(err);
      if (code === 'EINVAL' || code === 'ENOENT') return; // not (or no longer) a mount point
      if (code !== 'EBUSY' || ++busy > 20) {
        throw code === 'EBUSY'
          ? fail('Unavailable', `unmount ${target}: busy`, err)
          : fromSystem(err, `unmount ${target}`);
      }
      await sleep(50);
    }
  }
}

/**
 * Lazily unmounts every mount at or below `dir` (deepest first), read from
 * /proc/self/mountinfo. Used before deleting a tree, so rm never walks into a mount.
 */
export function unmountUnder(dir: string): void {
  const base = resolve(dir);
  let points: string[];
  try {
    points = mountPoints().filter((p) => p === base || p.startsWith(base + sep));
  } catch {
    return; // no /proc: nothing we can see is mounted
  }
  for (const point of points.sort((a, b) => b.length - a.length)) {
    try {
      unmount(point, { lazy: true });
    } catch {
      // already gone, or not ours to unmount: rm will report what matters
    }
  }
}

/** Mount points of this mount namespace (field 5 of mountinfo, octal escapes decoded). */
export function mountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) =>
      (line.split(' ')[4] ?? '').replace(/\\([0-7]{3})/g, (_, o: string) =>
        String.fromCharCode(Number.parseInt(o, 8)),
      ),
    );
}
