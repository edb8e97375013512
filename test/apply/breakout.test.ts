/**
 * Security regressions: adversarial layers that try to reach outside the directory they
 * are applied to (absolute and `..` names, symlinked parents, hardlinks out, whiteouts of
 * `..` or the root, a file replaced by a symlink and then written through, devices...).
 * Every case runs in both whiteout modes against a sentinel tree next to the root (with a
 * file a symlink would point at); it must end in a clean apply or a clean StrataError, and
 * nothing outside the root may change. Archives are built in code (test/fixtures/tar-builder).
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyLayer, finishLower, type WhiteoutMode } from '../../src/apply/index.js';
import { type ErrorCode, StrataError } from '../../src/errors.js';
import { lsetxattr } from '../../src/sys/index.js';
import { isRoot, tempDir } from '../fixtures/env.js';
import { buildTar, type TarEntrySpec } from '../fixtures/tar-builder.js';
import { chunked } from './helpers.js';
import { diffTrees, snapshotTree } from './tree.js';

interface Ctx {
  /** The directory the layer is applied to. */
  readonly root: string;
  /** Absolute path of the sentinel directory next to the root. */
  readonly outside: string;
  /** A path in /tmp that must never be created. */
  readonly tmpName: string;
  /** A lower layer directory (overlay parents), inside the case dir. */
  readonly lower: string;
}

type Outcome = 'ok' | ErrorCode;

interface Case {
  readonly name: string;
  readonly entries?: (c: Ctx) => TarEntrySpec[];
  readonly tar?: (c: Ctx) => Buffer;
  /** Content already in the target (native: the parent's copy) or in the lower layer. */
  readonly before?: (c: Ctx) => void;
  readonly expect: Outcome | { readonly delete: Outcome; readonly overlay: Outcome };
  readonly modes?: readonly WhiteoutMode[];
  readonly rootless?: boolean;
  /** Extra checks of where things landed inside the root. */
  readonly check?: (c: Ctx, mode: WhiteoutMode) => void;
}

const read = (path: string) => readFileSync(path, 'utf8');
/** Where an absolute path lands once clamped to the root. */
const inRoot = (c: Ctx, abs: string) => join(c.root, abs);

const cases: Case[] = [
  // absolute and `..` names
  {
    name: 'absolute path to the sentinel file',
    entries: (c) => [{ name: `${c.outside}/victim`, content: 'pwned' }],
    expect: 'ok',
    check: (c) => expect(read(inRoot(c, `${c.outside}/victim`))).toBe('pwned'),
  },
  {
    name: 'absolute path into /tmp',
    entries: (c) => [{ name: c.tmpName, content: 'pwned' }],
    expect: 'ok',
    check: (c) => expect(read(inRoot(c, c.tmpName))).toBe('pwned'),
  },
  {
    name: '../ escape',
    entries: () => [{ name: '../outside/victim', content: 'pwned' }],
    expect: 'ok',
    check: (c) => expect(read(join(c.root, 'outside/victim'))).toBe('pwned'),
  },
  {
    name: 'deep ../ escape after a real component',
    entries: () => [{ name: 'a/../../../../../../outside/victim', content: 'pwned' }],
    expect: 'ok',
    check: (c) => expect(read(join(c.root, 'outside/victim'))).toBe('pwned'),
  },
  {
    name: '../ escape in a PAX path',
    entries: () => [{ name: 'x', pax: { path: '../../outside/victim' }, content: 'pwned' }],
    expect: 'ok',
  },
  {
    name: '../ escape in a GNU long name',
    entries: () => [
      { name: `${'../'.repeat(40)}outside/victim`, longNames: 'gnu', content: 'pwned' },
    ],
    expect: 'ok',
  },
  {
    name: 'directory entry ../ with a mode',
    entries: () => [
      { name: '../', mode: 0o777 },
      { name: '../../', mode: 0o777 },
    ],
    expect: 'ok',
  },
  // symlinked parents
  {
    name: 'symlinked parent with an absolute target',
    entries: (c) => [
      { name: 'evil', type: 'symlink', linkname: c.outside },
      { name: 'evil/victim', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => expect(read(inRoot(c, `${c.outside}/victim`))).toBe('pwned'),
  },
  {
    name: 'symlinked parent with a relative target climbing out',
    entries: () => [
      { name: 'evil', type: 'symlink', linkname: '../../../../../outside' },
      { name: 'evil/victim', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => expect(read(join(c.root, 'outside/victim'))).toBe('pwned'),
  },
  {
    name: 'chain of symlinks climbing out',
    entries: () => [
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'c/../..' },
      { name: 'c/', mode: 0o755 },
      { name: 'a/outside/victim', content: 'pwned' },
    ],
    expect: 'ok',
  },
  {
    name: 'symlink to / then the absolute sentinel path',
    entries: (c) => [
      { name: 'slash', type: 'symlink', linkname: '/' },
      { name: `slash${c.outside}/victim`, content: 'pwned' },
    ],
    expect: 'ok',
  },
  {
    name: 'symlink loop as a parent',
    entries: () => [
      { name: 'loop', type: 'symlink', linkname: 'loop' },
      { name: 'loop/x', content: 'x' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'two-symlink loop as a parent',
    entries: () => [
      { name: 'a', type: 'symlink', linkname: 'b/' },
      { name: 'b', type: 'symlink', linkname: '/a' },
      { name: 'a/x', content: 'x' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'symlinked parent already in the target (native parent copy)',
    before: (c) => symlinkSync(c.outside, join(c.root, 'etc')),
    entries: () => [{ name: 'etc/victim', content: 'pwned' }],
    expect: 'ok',
    check: (c) => expect(read(inRoot(c, `${c.outside}/victim`))).toBe('pwned'),
  },
  // hardlinks
  {
    name: 'hardlink to the absolute sentinel path',
    entries: (c) => [{ name: 'h', type: 'link', linkname: `${c.outside}/victim` }],
    expect: 'InvalidArgument',
  },
  {
    name: 'hardlink with ../ to the sentinel',
    entries: () => [{ name: 'h', type: 'link', linkname: '../outside/victim' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'hardlink through a symlinked parent',
    entries: (c) => [
      { name: 'evil', type: 'symlink', linkname: c.outside },
      { name: 'h', type: 'link', linkname: 'evil/victim' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'hardlink to a symlink pointing out, then written through',
    entries: (c) => [
      { name: 's', type: 'symlink', linkname: `${c.outside}/victim` },
      { name: 'h', type: 'link', linkname: 's' },
      { name: 'h', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => {
      expect(lstatSync(join(c.root, 'h')).isFile()).toBe(true);
      expect(readlinkSync(join(c.root, 's'))).toBe(`${c.outside}/victim`);
    },
  },
  {
    name: 'hardlink to a directory',
    entries: () => [
      { name: 'd/', mode: 0o755 },
      { name: 'h', type: 'link', linkname: 'd' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'hardlink to itself',
    entries: () => [{ name: 'h', type: 'link', linkname: 'h' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'hardlink to the root',
    entries: () => [{ name: 'h', type: 'link', linkname: '../' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'a file rewritten after a hardlink to it does not write through the link',
    entries: () => [
      { name: 'f', content: 'original' },
      { name: 'h', type: 'link', linkname: 'f' },
      { name: 'h', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => expect(read(join(c.root, 'f'))).toBe('original'),
  },
  {
    name: 'hardlink through a lower layer symlink pointing out (overlay parents)',
    before: (c) => symlinkSync(c.outside, join(c.lower, 's')),
    entries: () => [{ name: 'h', type: 'link', linkname: 's/victim' }],
    expect: 'InvalidArgument',
    modes: ['overlay'],
  },
  // whiteouts
  {
    name: 'whiteout of ..',
    entries: () => [{ name: 'a/', mode: 0o755 }, { name: 'a/.wh...' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'whiteout of .',
    entries: () => [{ name: 'a/.wh..' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'whiteout with an empty name (the root)',
    entries: () => [{ name: '.wh.' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'whiteout of ../outside/victim',
    entries: () => [{ name: '../outside/.wh.victim' }],
    expect: 'ok',
  },
  {
    name: 'whiteout through a symlinked parent',
    entries: (c) => [
      { name: 'evil', type: 'symlink', linkname: c.outside },
      { name: 'evil/.wh.victim' },
    ],
    expect: 'ok',
  },
  {
    name: 'opaque marker through a symlinked parent',
    entries: (c) => [
      { name: 'evil', type: 'symlink', linkname: c.outside },
      { name: 'evil/.wh..wh..opq' },
    ],
    expect: 'ok',
  },
  {
    name: 'whiteout of a symlink to the sentinel directory',
    before: (c) => symlinkSync(c.outside, join(c.root, 's')),
    entries: () => [{ name: '.wh.s' }],
    expect: 'ok',
    check: (c, mode) => {
      const st = lstatSync(join(c.root, 's'), { throwIfNoEntry: false });
      if (mode === 'delete') expect(st).toBeUndefined();
      else expect(st?.isSymbolicLink()).toBe(true); // this layer's dir only holds this layer
    },
  },
  {
    name: 'opaque root with a symlink to the sentinel in the target',
    before: (c) => symlinkSync(c.outside, join(c.root, 's')),
    entries: () => [{ name: '.wh..wh..opq' }, { name: 'new', content: 'n' }],
    expect: 'ok',
  },
  // replacing things
  {
    name: 'file replaced by a symlink, then written through',
    entries: (c) => [
      { name: 'f', content: 'a' },
      { name: 'f', type: 'symlink', linkname: `${c.outside}/victim` },
      { name: 'f', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => expect(lstatSync(join(c.root, 'f')).isFile()).toBe(true),
  },
  {
    name: 'directory replaced by a symlink, then a child written',
    entries: (c) => [
      { name: 'd/', mode: 0o755 },
      { name: 'd/x', content: 'x' },
      { name: 'd', type: 'symlink', linkname: c.outside },
      { name: 'd/victim', content: 'pwned' },
    ],
    expect: 'ok',
    check: (c) => expect(read(inRoot(c, `${c.outside}/victim`))).toBe('pwned'),
  },
  {
    name: 'directory replaced by a file, then a child written',
    entries: () => [
      { name: 'd/', mode: 0o755 },
      { name: 'd', content: 'file' },
      { name: 'd/x', content: 'x' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'a child under a fifo',
    entries: () => [
      { name: 'p', type: 'fifo' },
      { name: 'p/x', content: 'x' },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'directory entry over a symlink to the sentinel dir (chmod must not follow)',
    before: (c) => symlinkSync(join(c.outside, 'dir'), join(c.root, 's')),
    entries: () => [{ name: 's/', mode: 0o777, uid: 1234, mtime: 1 }],
    expect: 'ok',
    check: (c) => expect(lstatSync(join(c.root, 's')).isDirectory()).toBe(true),
  },
  {
    name: 'dir made, then swapped for a symlink out before its deferred chmod',
    entries: (c) => [
      { name: 'd/', mode: 0o777, mtime: 1 },
      { name: 'd/sub/', mode: 0o777, mtime: 1 },
      { name: 'd', type: 'symlink', linkname: c.outside },
      { name: 'dir', type: 'symlink', linkname: `${c.outside}/dir` },
    ],
    expect: 'ok',
  },
  {
    name: 'symlink with owner, times and xattrs pointing at the sentinel',
    entries: (c) => [
      {
        name: 's',
        type: 'symlink',
        linkname: `${c.outside}/victim`,
        uid: 1234,
        mtime: 1,
        xattrs: { 'user.pwned': 'y' },
      },
    ],
    expect: 'ok',
  },
  {
    name: 'overlay xattrs from the archive',
    entries: () => [
      { name: 'd/', xattrs: { 'trusted.overlay.redirect': '/etc', 'trusted.overlay.opaque': 'y' } },
    ],
    expect: 'ok',
  },
  // devices
  {
    name: 'device node escaping with ../',
    entries: () => [{ name: '../outside/null', type: 'char', devmajor: 1, devminor: 3 }],
    expect: 'ok',
  },
  {
    name: 'block device over the sentinel path (absolute)',
    entries: (c) => [{ name: `${c.outside}/victim`, type: 'block', devmajor: 8, devminor: 0 }],
    expect: 'ok',
  },
  {
    name: 'device node when rootless',
    entries: () => [{ name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 }],
    rootless: true,
    expect: 'ok',
    check: (c) => expect(existsSync(join(c.root, 'dev/null'))).toBe(false),
  },
  {
    name: 'device number out of range',
    entries: () => [{ name: 'dev/x', type: 'char', devmajor: 2 ** 33, devminor: 1 }],
    expect: 'InvalidArgument',
  },
  // the root itself and malformed archives
  {
    name: 'root entry as a symlink out',
    entries: (c) => [{ name: './', type: 'symlink', linkname: c.outside }],
    expect: 'InvalidArgument',
  },
  {
    name: 'root entry as a file',
    entries: () => [{ name: '.', content: 'x' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'NUL in a PAX path',
    entries: () => [{ name: 'x', pax: { path: 'ok\0/../../outside/victim' }, content: 'p' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'symlink with an empty target',
    entries: () => [{ name: 's', type: 'symlink', linkname: '' }],
    expect: 'InvalidArgument',
  },
  {
    name: 'truncated archive',
    tar: () => buildTar([{ name: 'a', content: 'x'.repeat(2000) }]).subarray(0, 1500),
    expect: 'InvalidArgument',
  },
  {
    name: 'corrupt header checksum',
    entries: () => [
      { name: 'a', content: 'a' },
      { name: 'b', badChecksum: true },
    ],
    expect: 'InvalidArgument',
  },
  {
    name: 'oversized PAX header',
    entries: () => [{ name: 'a', pax: { comment: Buffer.alloc(9 << 20, 0x41) } }],
    expect: 'InvalidArgument',
  },
];

let counter = 0;

// At the top level, so that tempDir's cleanup (an afterAll) is registered with the file.
const base = await tempDir('strata-breakout-');

/** A fresh case directory: root/ (the target), outside/ (the sentinel), lower/ and a sibling. */
function setup(): Ctx {
  const dir = join(base, `case${counter++}`);
  const outside = join(dir, 'outside');
  mkdirSync(join(dir, 'root'), { recursive: true });
  mkdirSync(join(outside, 'dir'), { recursive: true });
  mkdirSync(join(dir, 'lower'));
  writeFileSync(join(outside, 'victim'), 'original', { mode: 0o644 });
  writeFileSync(join(outside, 'dir', 'inside'), 'inside');
  lsetxattr(join(outside, 'victim'), 'user.sentinel', Buffer.from('1'));
  symlinkSync('victim', join(outside, 'victim-link'));
  writeFileSync(join(dir, 'sibling'), 'sibling');
  return {
    root: join(dir, 'root'),
    outside,
    lower: join(dir, 'lower'),
    tmpName: `/tmp/strata-breakout-${randomBytes(6).toString('hex')}`,
  };
}

/** Everything in the case directory but the root. */
function sentinel(c: Ctx) {
  return snapshotTree(join(c.root, '..'), {
    mtimes: true,
    skip: (rel) => rel === 'root' || rel.startsWith('root/'),
  });
}

describe('adversarial layers never reach outside the root', () => {
  it('has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  // Overlay also runs deferred: applied before its parents exist, finished by finishLower
  // (how parallel unpacking applies layers), which must be just as safe.
  const runs = cases.flatMap((c) =>
    (c.modes ?? (['delete', 'overlay'] as const)).flatMap((mode) => [
      { ...c, mode, how: mode },
      ...(mode === 'overlay' ? [{ ...c, mode, how: 'overlay, deferred' }] : []),
    ]),
  );

  it.each(runs)('$name ($how)', async (test) => {
    const c = setup();
    test.before?.(c);
    const before = sentinel(c);
    const tar = test.tar ? test.tar(c) : buildTar(test.entries?.(c) ?? []);
    let outcome: Outcome;
    try {
      const rootless = test.rootless ?? !isRoot;
      const deferred = test.how === 'overlay, deferred';
      const result = await applyLayer(chunked(tar), c.root, {
        whiteouts: test.mode,
        rootless,
        parents: deferred ? 'later' : test.mode === 'overlay' ? [c.lower] : [],
        onWarning: () => {},
      });
      if (deferred) finishLower(c.root, result.deferred!, { parents: [c.lower], rootless });
      outcome = 'ok';
    } catch (err) {
      if (!(err instanceof StrataError)) throw err;
      outcome = err.code;
    }
    expect(diffTrees(before, sentinel(c))).toEqual([]);
    expect(existsSync(c.tmpName)).toBe(false);
    expect(lstatSync(c.root).isDirectory()).toBe(true);
    const want = typeof test.expect === 'string' ? test.expect : test.expect[test.mode];
    expect(outcome).toBe(want);
    if (outcome === 'ok') test.check?.(c, test.mode);
  });
});
