import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyLayer } from '../../src/apply/index.js';
import { isCode } from '../../src/errors.js';
import type { Digest } from '../../src/oci/index.js';
import { lgetxattr, lsetxattr } from '../../src/sys/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { buildTar, DEFAULT_MTIME, gzip, type TarEntrySpec, zstd } from '../fixtures/tar-builder.js';
import { applyEntries, chunked, warnings } from './helpers.js';

const needsRoot = missing({ root: true });
const noZstd = missing({ commands: ['zstd'] });
const sha256 = (data: Uint8Array): Digest =>
  `sha256:${createHash('sha256').update(data).digest('hex')}`;
const capability = Buffer.from('0100000200200000000000000000000000000000', 'hex');

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

let n = 0;
const fresh = () => join(base, `t${n++}`);

// At the top level, so that tempDir's cleanup (an afterAll) is registered with the file.
const base = await tempDir('strata-apply-');

describe(`applying entries as root${skipNote(needsRoot)}`, () => {
  it.skipIf(needsRoot)(
    'creates every type with owner, mode (setuid kept), times, xattrs',
    async () => {
      const root = fresh();
      await applyEntries(
        [
          { name: 'bin/', mode: 0o755, mtime: 1_500_000_000 },
          {
            name: 'bin/ping',
            content: 'elf',
            mode: 0o4755,
            uid: 0,
            gid: 0,
            xattrs: { 'security.capability': capability, 'user.note': 'hi' },
          },
          { name: 'bin/sgid', content: 'x', mode: 0o2711, uid: 1000, gid: 42 },
          { name: 'bin/suid-user', content: 'x', mode: 0o4750, uid: 1000, gid: 1000 },
          { name: 'tmp/', mode: 0o1777, uid: 0, gid: 0, mtime: 1_400_000_000 },
          {
            name: 'tmp/link',
            type: 'symlink',
            linkname: '../bin/ping',
            uid: 7,
            gid: 8,
            mtime: 1_300_000_000,
          },
          { name: 'bin/ping6', type: 'link', linkname: 'bin/ping' },
          { name: 'dev/', mode: 0o755 },
          { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
          { name: 'dev/sda', type: 'block', devmajor: 8, devminor: 1, mode: 0o660, gid: 6 },
          { name: 'dev/fifo', type: 'fifo', mode: 0o620, uid: 3 },
        ],
        root,
        { whiteouts: 'delete' },
      );
      const ping = lstatSync(join(root, 'bin/ping'));
      expect(ping.mode & 0o7777).toBe(0o4755);
      expect(ping.mtimeMs).toBe(DEFAULT_MTIME * 1000);
      expect(ping.nlink).toBe(2);
      expect(lstatSync(join(root, 'bin/ping6')).ino).toBe(ping.ino);
      expect(lgetxattr(join(root, 'bin/ping'), 'security.capability')).toEqual(capability);
      expect(lgetxattr(join(root, 'bin/ping'), 'user.note')?.toString()).toBe('hi');
      const sgid = lstatSync(join(root, 'bin/sgid'));
      expect([sgid.mode & 0o7777, sgid.uid, sgid.gid]).toEqual([0o2711, 1000, 42]);
      expect(lstatSync(join(root, 'bin/suid-user')).mode & 0o7777).toBe(0o4750);
      const tmp = lstatSync(join(root, 'tmp'));
      expect([tmp.mode & 0o7777, tmp.mtimeMs]).toEqual([0o1777, 1_400_000_000_000]);
      expect(lstatSync(join(root, 'bin')).mtimeMs).toBe(1_500_000_000_000); // dirs last
      const link = lstatSync(join(root, 'tmp/link'));
      expect([link.isSymbolicLink(), link.uid, link.gid, link.mtimeMs]).toEqual([
        true,
        7,
        8,
        1_300_000_000_000,
      ]);
      expect(readlinkSync(join(root, 'tmp/link'))).toBe('../bin/ping');
      const nul = lstatSync(join(root, 'dev/null'));
      expect([nul.isCharacterDevice(), nul.rdev, nul.mode & 0o7777]).toEqual([true, 259, 0o666]);
      const sda = lstatSync(join(root, 'dev/sda'));
      expect([sda.isBlockDevice(), sda.rdev, sda.gid]).toEqual([true, 2049, 6]);
      const fifo = lstatSync(join(root, 'dev/fifo'));
      expect([fifo.isFIFO(), fifo.mode & 0o7777, fifo.uid]).toEqual([true, 0o620, 3]);
    },
  );

  it.skipIf(needsRoot)('reads PAX and GNU long names, base-256 ids, PAX times', async () => {
    const root = fresh();
    const long = `${'d'.repeat(150)}/${'e'.repeat(150)}`;
    await applyEntries(
      [
        { name: `${long}/pax-file`, content: 'p', pax: { mtime: '1600000000.25' } },
        { name: `${long}/gnu-file`, content: 'g', longNames: 'gnu', uid: 3_000_000, base256: true },
        { name: 'link-to-long', type: 'link', linkname: `${long}/pax-file`, longNames: 'gnu' },
      ],
      root,
      { whiteouts: 'delete' },
    );
    const pax = statSync(join(root, long, 'pax-file'));
    expect(pax.mtimeMs).toBe(1_600_000_000_250);
    expect(statSync(join(root, long, 'gnu-file')).uid).toBe(3_000_000);
    expect(statSync(join(root, 'link-to-long')).ino).toBe(pax.ino);
  });

  it.skipIf(needsRoot)(
    'replaces what an entry names: dir by file, file by dir, symlink by dir',
    async () => {
      const root = fresh();
      await applyEntries(
        [
          { name: 'a/', mode: 0o755 },
          { name: 'a/child', content: 'c' },
          { name: 'a', content: 'now a file' },
          { name: 'b', content: 'file' },
          { name: 'b/', mode: 0o700 },
          { name: 'c', type: 'symlink', linkname: 'b' },
          { name: 'c/', mode: 0o711 },
          { name: 'c/inside', content: 'i' },
        ],
        root,
        { whiteouts: 'delete' },
      );
      expect(readFileSync(join(root, 'a'), 'utf8')).toBe('now a file');
      expect(lstatSync(join(root, 'b')).isDirectory()).toBe(true);
      expect(lstatSync(join(root, 'c')).isDirectory()).toBe(true);
      expect(readdirSync(join(root, 'b'))).toEqual([]);
      expect(lstatSync(join(root, 'c')).mode & 0o777).toBe(0o711);
    },
  );
});

describe('diffID and compression', () => {
  const entries: TarEntrySpec[] = [
    { name: 'etc/', mode: 0o755 },
    { name: 'etc/motd', content: 'hello\n'.repeat(1000) },
  ];
  const trailer = Buffer.from('bytes after the end-of-archive marker');
  const tar = buildTar(entries, { recordPadding: true, trailer });

  it.each([
    ['none', (t: Buffer) => t],
    ['gzip', gzip],
    ...(noZstd ? [] : ([['zstd', zstd]] as const)),
  ] as const)('hashes the whole %s stream, trailing bytes included', async (_name, compress) => {
    const root = fresh();
    mkdirSync(root);
    const result = await applyLayer(chunked(compress(tar)), root, {
      whiteouts: 'delete',
      expectedDiffId: sha256(tar),
    });
    expect(result).toEqual({ diffId: sha256(tar), size: tar.length, entries: 2 });
    expect(readFileSync(join(root, 'etc/motd'), 'utf8')).toBe('hello\n'.repeat(1000));
  });

  it('fails with FailedPrecondition naming the layer when the diffID does not match', async () => {
    const root = fresh();
    mkdirSync(root);
    const want = sha256(Buffer.from('another layer'));
    const err = await failure(() =>
      applyLayer(chunked(gzip(tar)), root, { whiteouts: 'delete', expectedDiffId: want }),
    );
    expect(isCode(err, 'FailedPrecondition')).toBe(true);
    expect((err as Error).message).toBe(
      `layer ${want}: diffID mismatch: got ${sha256(tar)}, want ${want}`,
    );
  });

  it('fails a malformed archive with InvalidArgument naming the layer', async () => {
    const root = fresh();
    mkdirSync(root);
    const want = sha256(tar);
    const err = await failure(() =>
      applyLayer(chunked(tar.subarray(0, 1000)), root, {
        whiteouts: 'delete',
        expectedDiffId: want,
      }),
    );
    expect(isCode(err, 'InvalidArgument')).toBe(true);
    expect((err as Error).message).toMatch(
      new RegExp(`^layer ${want}: tar at offset \\d+: truncated`),
    );
  });

  it('reports progress and counts entries', async () => {
    const root = fresh();
    const seen: number[] = [];
    const result = await applyEntries(entries, root, {
      whiteouts: 'delete',
      onProgress: (p) => seen.push(p.entries),
    });
    expect(result.entries).toBe(2);
    expect(seen.at(-1)).toBe(2);
  });

  it('stops with Aborted when the signal fires', async () => {
    const root = fresh();
    mkdirSync(root);
    const controller = new AbortController();
    async function* slow() {
      yield* chunked(buildTar([{ name: 'a', content: 'a' }], { end: 0 }));
      controller.abort();
      await new Promise((r) => setTimeout(r, 10));
      yield* chunked(buildTar([{ name: 'b', content: 'b' }]));
    }
    const err = await failure(() =>
      applyLayer(slow(), root, { whiteouts: 'delete', signal: controller.signal }),
    );
    expect(isCode(err, 'Aborted')).toBe(true);
    expect(existsSync(join(root, 'b'))).toBe(false);
  });
});

describe('native whiteouts', () => {
  async function lower(): Promise<string> {
    const root = fresh();
    await applyEntries(
      [
        { name: 'keep', content: 'k' },
        { name: 'gone', content: 'g' },
        { name: 'gone-dir/', mode: 0o755 },
        { name: 'gone-dir/deep/file', content: 'd' },
        { name: 'opq/', mode: 0o755 },
        { name: 'opq/old', content: 'o' },
        { name: 'opq/old-dir/x', content: 'x' },
        { name: 'mixed/', mode: 0o755 },
        { name: 'mixed/old', content: 'o' },
      ],
      root,
      { whiteouts: 'delete' },
    );
    return root;
  }

  it('deletes whiteout targets, empties opaque dirs but keeps what this layer added', async () => {
    const root = await lower();
    await applyEntries(
      [
        { name: '.wh.gone' },
        { name: '.wh.gone-dir' },
        { name: '.wh.not-there' },
        { name: 'opq/new-before', content: 'n' },
        { name: 'opq/.wh..wh..opq' },
        { name: 'opq/new-after', content: 'n' },
        { name: 'mixed/new', content: 'n' },
        { name: 'mixed/.wh.new' }, // a whiteout only hides lower layers
        { name: 'mixed/.wh.old' },
      ],
      root,
      { whiteouts: 'delete' },
    );
    expect(readdirSync(root).sort()).toEqual(['keep', 'mixed', 'opq']);
    expect(readdirSync(join(root, 'opq')).sort()).toEqual(['new-after', 'new-before']);
    expect(readdirSync(join(root, 'mixed'))).toEqual(['new']);
  });

  it('keeps the times of directories it adds to without an entry of their own', async () => {
    const root = await lower();
    utimesSync(join(root, 'mixed'), 1_234_567_890, 1_234_567_890);
    await applyEntries([{ name: 'mixed/added', content: 'a' }, { name: 'mixed/.wh.old' }], root, {
      whiteouts: 'delete',
    });
    expect(lstatSync(join(root, 'mixed')).mtimeMs).toBe(1_234_567_890_000);
  });

  it('rejects whiteouts of "." and ".." and empty names, as containerd does', async () => {
    for (const name of ['a/.wh..', 'a/.wh...', '.wh.']) {
      const root = await lower();
      const err = await failure(() => applyEntries([{ name }], root, { whiteouts: 'delete' }));
      expect(isCode(err, 'InvalidArgument'), `${name}: ${err}`).toBe(true);
      expect(existsSync(join(root, 'keep'))).toBe(true);
    }
  });

  it('replaces the xattrs of a directory an entry merges into', async () => {
    const root = fresh();
    await applyEntries([{ name: 'd/', xattrs: { 'user.old': '1', 'user.both': '1' } }], root, {
      whiteouts: 'delete',
    });
    await applyEntries([{ name: 'd/', xattrs: { 'user.both': '2' } }], root, {
      whiteouts: 'delete',
    });
    expect(lgetxattr(join(root, 'd'), 'user.old')).toBeUndefined();
    expect(lgetxattr(join(root, 'd'), 'user.both')?.toString()).toBe('2');
  });
});

describe(`overlay whiteouts${skipNote(needsRoot)}`, () => {
  it.skipIf(needsRoot)('writes 0:0 char devices and trusted.overlay.opaque', async () => {
    const root = fresh();
    await applyEntries(
      [
        { name: 'usr/share/.wh.doc', uid: 0, gid: 0 },
        { name: 'etc/apt/.wh..wh..opq' },
        { name: 'etc/apt/NOTE', content: 'n' },
        { name: '.wh.gone' },
        { name: 'gone/', mode: 0o750 }, // `.wh.gone` then `gone/`: a new dir hiding the old
        { name: 'gone/x', content: 'x' },
        { name: '.wh.again' },
        { name: 'again/y', content: 'y' }, // and an implicit one
        { name: 'kept', content: 'k' },
        { name: '.wh.kept' }, // this layer's own file stays
      ],
      root,
      { whiteouts: 'overlay' },
    );
    const doc = lstatSync(join(root, 'usr/share/doc'));
    expect([doc.isCharacterDevice(), doc.rdev]).toEqual([true, 0]);
    const opaque = (p: string) => lgetxattr(join(root, p), 'trusted.overlay.opaque')?.toString();
    expect(opaque('etc/apt')).toBe('y');
    expect(opaque('gone')).toBe('y');
    expect(opaque('again')).toBe('y');
    expect(opaque('usr/share')).toBeUndefined();
    expect(readFileSync(join(root, 'kept'), 'utf8')).toBe('k');
  });

  it.skipIf(needsRoot)('copies up a hardlink target from a parent layer', async () => {
    const lower = fresh();
    await applyEntries(
      [
        { name: 'usr/', mode: 0o755, mtime: 1_111_111_111 },
        { name: 'usr/bin/', mode: 0o711, uid: 5, gid: 6, mtime: 1_222_222_222 },
        { name: 'usr/bin/tool', content: 'tool', mode: 0o4755, uid: 2, xattrs: { 'user.a': 'b' } },
      ],
      lower,
      { whiteouts: 'overlay' },
    );
    const upper = fresh();
    await applyEntries([{ name: 'tool-alias', type: 'link', linkname: 'usr/bin/tool' }], upper, {
      whiteouts: 'overlay',
      parents: [lower],
    });
    const copy = lstatSync(join(upper, 'usr/bin/tool'));
    expect([copy.mode & 0o7777, copy.uid, copy.nlink]).toEqual([0o4755, 2, 2]);
    expect(lgetxattr(join(upper, 'usr/bin/tool'), 'user.a')?.toString()).toBe('b');
    expect(lstatSync(join(upper, 'tool-alias')).ino).toBe(copy.ino);
    const bin = lstatSync(join(upper, 'usr/bin'));
    expect([bin.mode & 0o7777, bin.uid, bin.gid, bin.mtimeMs]).toEqual([
      0o711, 5, 6, 1_222_222_222_000,
    ]);
    // Without the parents there is nothing to link to.
    const alone = fresh();
    const err = await failure(() =>
      applyEntries([{ name: 'x', type: 'link', linkname: 'usr/bin/tool' }], alone, {
        whiteouts: 'overlay',
      }),
    );
    expect(isCode(err, 'InvalidArgument')).toBe(true);
  });
});

describe(`hardlinks to what this layer deleted${skipNote(needsRoot)}`, () => {
  it.skipIf(needsRoot).each(['delete', 'overlay'] as const)('fail in %s mode', async (mode) => {
    const lower = fresh();
    await applyEntries([{ name: 'f', content: 'f' }], lower, { whiteouts: mode });
    const target = mode === 'delete' ? lower : fresh();
    const err = await failure(() =>
      applyEntries([{ name: '.wh.f' }, { name: 'h', type: 'link', linkname: 'f' }], target, {
        whiteouts: mode,
        parents: mode === 'overlay' ? [lower] : [],
      }),
    );
    expect(isCode(err, 'InvalidArgument'), String(err)).toBe(true);
  });
});

describe('rootless', () => {
  it('skips device nodes with a warning, writes user.overlay.opaque, does not chown', async () => {
    const root = fresh();
    const warned = warnings();
    await applyEntries(
      [
        { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
        { name: 'dev/fifo', type: 'fifo' },
        { name: 'owned', content: 'o', uid: 1234, gid: 1234 },
        { name: 'd/.wh..wh..opq' },
      ],
      root,
      { whiteouts: 'overlay', rootless: true, onWarning: warned.onWarning },
    );
    expect(existsSync(join(root, 'dev/null'))).toBe(false);
    expect(warned.list.some((m) => m.includes('dev/null') && m.includes('skipped'))).toBe(true);
    expect(lstatSync(join(root, 'dev/fifo')).isFIFO()).toBe(true);
    expect(lstatSync(join(root, 'owned')).uid).toBe(process.getuid?.());
    expect(lgetxattr(join(root, 'd'), 'user.overlay.opaque')?.toString()).toBe('y');
    expect(lgetxattr(join(root, 'd'), 'trusted.overlay.opaque')).toBeUndefined();
  });

  it('never takes overlay xattrs from the archive', async () => {
    const root = fresh();
    const warned = warnings();
    await applyEntries(
      [{ name: 'd/', xattrs: { 'user.overlay.opaque': 'y', 'user.overlay.redirect': '/etc' } }],
      root,
      { whiteouts: 'overlay', rootless: true, onWarning: warned.onWarning },
    );
    expect(lgetxattr(join(root, 'd'), 'user.overlay.opaque')).toBeUndefined();
    expect(lgetxattr(join(root, 'd'), 'user.overlay.redirect')).toBeUndefined();
    expect(warned.list).toHaveLength(2);
  });
});

describe('the target', () => {
  it('must exist (NotFound) and not be / (InvalidArgument)', async () => {
    const tar = buildTar([]);
    const missingDir = await failure(() =>
      applyLayer(chunked(tar), join(base, 'nope'), { whiteouts: 'delete' }),
    );
    expect(isCode(missingDir, 'NotFound')).toBe(true);
    const slash = await failure(() => applyLayer(chunked(tar), '/', { whiteouts: 'delete' }));
    expect(isCode(slash, 'InvalidArgument')).toBe(true);
  });

  it('cancels the source when it cannot apply', async () => {
    let released = false;
    async function* source() {
      try {
        yield* chunked(buildTar([]));
      } finally {
        released = true;
      }
    }
    const body = source();
    await body.next(); // started, as a tee'd download would be
    await failure(() => applyLayer(body, join(base, 'nope'), { whiteouts: 'delete' }));
    expect(released).toBe(true);
  });

  it('gets the root entry metadata; a root entry of another type is refused', async () => {
    const root = fresh();
    mkdirSync(root);
    writeFileSync(join(root, 'pre'), 'x');
    lsetxattr(join(root, 'pre'), 'user.x', Buffer.from('1'));
    await applyEntries([{ name: './', mode: 0o750, mtime: 1_000_000_000 }], root, {
      whiteouts: 'delete',
    });
    const st = lstatSync(root);
    expect([st.mode & 0o7777, st.mtimeMs]).toEqual([0o750, 1_000_000_000_000]);
    const err = await failure(() =>
      applyEntries([{ name: '.', type: 'symlink', linkname: '/etc' }], root, {
        whiteouts: 'delete',
      }),
    );
    expect(isCode(err, 'InvalidArgument')).toBe(true);
    expect(lstatSync(root).isDirectory()).toBe(true);
  });
});
