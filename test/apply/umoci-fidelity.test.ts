/**
 * Fidelity against an independent unpacker: layers built here are applied by strata and by
 * `umoci unpack` (Go's archive/tar, its own whiteout and metadata code), and the trees are
 * compared path by path: type, mode, owner, size, content hash, link target, device
 * number, xattrs, mtime, hardlink groups. Native mode applies the layers in order into one
 * directory; overlay mode applies each into its own directory and compares the real
 * overlayfs mount of them.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyLayer, finishLower, type WhiteoutMode } from '../../src/apply/index.js';
import type { Digest } from '../../src/oci/index.js';
import { mount, unmount } from '../../src/sys/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { buildTar, gzip, type TarEntrySpec, zstd } from '../fixtures/tar-builder.js';
import { chunked } from './helpers.js';
import { diffTrees, snapshotTree, type Tree } from './tree.js';

const cannot = missing({ root: true, commands: ['umoci', 'zstd'] });

const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');
const big = randomBytes(300_000);
const longParent = `usr/share/${'long-directory-name-'.repeat(6)}`;
const long = `${longParent}/${'f'.repeat(90)}`;
const t = (days: number) => 1_650_000_000 + days * 86_400;

/** A base system: every entry type, owners, special modes, xattrs, long names. */
const layer1: TarEntrySpec[] = [
  { name: './', mode: 0o755, mtime: t(0) },
  { name: 'bin/', mode: 0o755, mtime: t(1) },
  { name: 'bin/sh', content: '#!sh\n', mode: 0o755, mtime: t(2) },
  {
    name: 'bin/ping',
    content: 'ping',
    mode: 0o4755,
    mtime: t(3),
    xattrs: { 'security.capability': capability },
  },
  { name: 'bin/ping6', type: 'link', linkname: 'bin/ping' },
  { name: 'bin/sgid', content: 'sgid', mode: 0o2755, gid: 42, mtime: t(4) },
  { name: 'dev/', mode: 0o755, mtime: t(5) },
  { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: t(6) },
  { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, gid: 6, mtime: t(6) },
  { name: 'etc/', mode: 0o755, mtime: t(7) },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/sh\n', mtime: t(8) },
  { name: 'etc/shadow', content: 'root:*:1::::::\n', mode: 0o640, gid: 42, mtime: t(8) },
  { name: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC', mtime: t(9) },
  { name: 'home/', mode: 0o755, mtime: t(10) },
  { name: 'home/user/', mode: 0o700, uid: 1000, gid: 1000, mtime: t(11) },
  {
    name: 'home/user/.profile',
    content: 'export PS1\n',
    uid: 1000,
    gid: 1000,
    mtime: t(12),
    xattrs: { 'user.comment': 'hello', 'user.binary': Buffer.from([0, 1, 2, 255]) },
  },
  { name: 'home/user/big-id', content: 'x', uid: 3_000_000, gid: 3_000_000, base256: true },
  { name: 'tmp/', mode: 0o1777, mtime: t(13) },
  { name: 'tmp/stale', content: 'stale', mtime: t(13) },
  { name: 'usr/', mode: 0o755, mtime: t(14), xattrs: { 'user.dir': 'usr' } },
  { name: 'usr/lib/', mode: 0o755, mtime: t(15) },
  { name: 'usr/lib/big', content: big, mtime: t(16) },
  { name: 'usr/lib/libc.so', content: 'libc', mtime: t(16) },
  { name: 'usr/share/', mode: 0o755, mtime: t(17) },
  { name: `${longParent}/`, mode: 0o755, mtime: t(18) },
  { name: `${long}/`, mode: 0o755, mtime: t(18) },
  { name: `${long}/pax-named`, content: 'pax', mtime: t(19) },
  { name: `${long}/gnu-named`, content: 'gnu', longNames: 'gnu', mtime: t(19) },
  { name: `${long}/link`, type: 'symlink', linkname: `/${long}/pax-named`, mtime: t(19) },
  { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: t(20) },
  { name: 'var/', mode: 0o755, mtime: t(21) },
  { name: 'var/fifo', type: 'fifo', mode: 0o600, mtime: t(22) },
  { name: 'var/log/', mode: 0o750, uid: 0, gid: 4, mtime: t(23) },
  { name: 'var/log/empty', content: '', mtime: t(24) },
];

/** Changes: whiteouts, an opaque dir, replacements of every kind, implicit parents. */
const layer2: TarEntrySpec[] = [
  { name: 'bin/', mode: 0o755, mtime: t(30) },
  { name: 'bin/sh', type: 'symlink', linkname: 'busybox', mtime: t(31) },
  { name: 'bin/busybox', content: 'busybox', mode: 0o755, mtime: t(31) },
  { name: 'bin/ping-again', type: 'link', linkname: 'bin/ping' }, // to a file of layer 1
  { name: 'etc/', mode: 0o755, mtime: t(32) },
  { name: 'etc/.wh.shadow' },
  { name: 'etc/passwd/', mode: 0o711, mtime: t(33) }, // a file replaced by a directory
  { name: 'etc/passwd/inside', content: 'inside', mtime: t(33) },
  { name: '.wh.tmp' },
  { name: 'usr/', mode: 0o755, mtime: t(34) }, // merged: its xattr goes away
  { name: 'usr/lib/', mode: 0o755, mtime: t(35) },
  { name: 'usr/lib/.wh..wh..opq' },
  { name: 'usr/lib/libc.so', content: 'libc v2', mtime: t(36) },
  { name: 'home/user/.profile', content: 'export PS2\n', uid: 1000, gid: 1000, mtime: t(37) },
  { name: 'home/user/notes', content: 'no dir entry for home/user', uid: 1000, mtime: t(38) },
  { name: 'var/fifo', content: 'a file now', mtime: t(39) },
  { name: 'var/log/', mode: 0o755, mtime: t(40) },
  { name: 'var/log/.wh.empty' },
];

/** More: re-creating what a whiteout removed, removing a directory of devices. */
const layer3: TarEntrySpec[] = [
  { name: 'etc/', mode: 0o755, mtime: t(50) },
  { name: 'etc/.wh.passwd' },
  { name: 'etc/passwd', content: 'root:x:0:0::/root:/bin/busybox\n', mtime: t(51) },
  { name: '.wh.dev' },
  { name: 'opt/', mode: 0o755, mtime: t(52) },
  { name: 'opt/app/', mode: 0o750, uid: 100, gid: 100, mtime: t(53) },
  { name: 'opt/app/run', content: 'run', mode: 0o6755, uid: 100, gid: 100, mtime: t(54) },
  { name: 'opt/app/.wh..wh..opq' }, // opaque over nothing below
  { name: 'tmp/', mode: 0o1777, mtime: t(55) },
];

const tars = [buildTar(layer1), buildTar(layer2), buildTar(layer3, { recordPadding: true })];
const blobs = [
  gzip(tars[0] as Buffer),
  cannot ? Buffer.alloc(0) : zstd(tars[1] as Buffer),
  tars[2],
];

/** Paths whose link count differs by design in an overlay mount (see the test). */
const overlayLinkSplit = new Set(['bin/ping', 'bin/ping6', 'bin/ping-again']);

/** The tree without link counts and hardlink groups for `paths`. */
function withoutLinks(tree: Tree, paths: ReadonlySet<string>): Tree {
  const out: Tree = new Map();
  for (const [path, entry] of tree) {
    if (!paths.has(path)) out.set(path, entry);
    else {
      const { nlink: _n, linkGroup: _g, ...rest } = entry;
      out.set(path, rest);
    }
  }
  return out;
}

// At the top level, so that tempDir's cleanup (an afterAll) is registered with the file.
const base = await tempDir('strata-umoci-');
let umociRootfs: string;
let umociDiffIds: string[];

function umoci(...args: string[]): void {
  execFileSync('umoci', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function snapshot(dir: string): Tree {
  return snapshotTree(dir, { mtimes: true, skipXattr: (n) => n.startsWith('trusted.overlay.') });
}

/**
 * Applies the layers in order; `deferred` applies every overlay layer at once before any
 * parent exists (as parallel unpacking does) and finishes them in order afterwards.
 */
async function apply(
  mode: WhiteoutMode,
  dirs: readonly string[],
  deferred = false,
): Promise<Digest[]> {
  const parentsOf = (i: number) => (mode === 'overlay' ? dirs.slice(0, i).reverse() : []);
  const one = async (blob: Buffer, i: number) => {
    const target = dirs[i] as string;
    mkdirSync(target, { recursive: true });
    return applyLayer(chunked(blob, 65_536), target, {
      whiteouts: mode,
      parents: deferred ? 'later' : parentsOf(i),
    });
  };
  if (!deferred) {
    const diffIds: Digest[] = [];
    for (const [i, blob] of blobs.entries()) diffIds.push((await one(blob as Buffer, i)).diffId);
    return diffIds;
  }
  const results = await Promise.all(blobs.map((blob, i) => one(blob as Buffer, i)));
  for (const [i, r] of results.entries())
    finishLower(dirs[i] as string, r.deferred!, { parents: parentsOf(i) });
  return results.map((r) => r.diffId);
}

describe.skipIf(cannot)(`fidelity with umoci unpack${skipNote(cannot)}`, () => {
  beforeAll(async () => {
    const layout = join(base, 'layout');
    umoci('init', '--layout', layout);
    umoci('new', '--image', `${layout}:t`);
    for (const [i, tar] of tars.entries()) {
      const file = join(base, `layer${i}.tar`);
      writeFileSync(file, tar as Buffer);
      umoci('raw', 'add-layer', '--image', `${layout}:t`, file);
    }
    umoci('unpack', '--image', `${layout}:t`, join(base, 'bundle'));
    umociRootfs = join(base, 'bundle', 'rootfs');
    const blob = (digest: string) =>
      JSON.parse(readFileSync(join(layout, 'blobs', ...digest.split(':')), 'utf8'));
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
    const manifest = blob(index.manifests[0].digest);
    umociDiffIds = blob(manifest.config.digest).rootfs.diff_ids;
  });

  it('native: the same tree as umoci, and the same diffIDs', async () => {
    const target = join(base, 'native');
    const diffIds = await apply('delete', [target, target, target]);
    expect(diffIds).toEqual(umociDiffIds);
    const want = snapshot(umociRootfs);
    expect(want.size).toBeGreaterThan(30);
    expect(diffTrees(want, snapshot(target))).toEqual([]);
  });

  it.each([false, true])(
    'overlay (deferred: %s): the overlayfs mount of the layer dirs shows the same tree',
    async (deferred) => {
      const top = join(base, deferred ? 'overlay-deferred' : 'overlay');
      const dirs = [0, 1, 2].map((i) => join(top, String(i)));
      const diffIds = await apply('overlay', dirs, deferred);
      expect(diffIds).toEqual(umociDiffIds);
      const merged = join(top, 'merged');
      mkdirSync(merged);
      mount('overlay', merged, 'overlay', 0, `lowerdir=${[...dirs].reverse().join(':')}`);
      let got: Tree;
      try {
        got = snapshot(merged);
      } finally {
        unmount(merged);
      }
      // Layer 2 hardlinks bin/ping-again to layer 1's bin/ping, so bin/ping is copied up
      // into layer 2 (as containerd's applier on an overlay does): in the mount, bin/ping6
      // stays linked to the old inode below. Link counts across layers are the one thing an
      // overlay cannot show as a flat tree; content, modes and xattrs must still match.
      const want = withoutLinks(snapshot(umociRootfs), overlayLinkSplit);
      expect(diffTrees(want, withoutLinks(got, overlayLinkSplit))).toEqual([]);
      expect(got.get('bin/ping-again')?.linkGroup).toBe('bin/ping');
    },
  );
});
