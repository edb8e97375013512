import { execFileSync } from 'node:child_process';
import {
  chmod,
  lchown,
  link,
  lstat,
  mkdir,
  readFile,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/metadata/db.js';
import { copyTree } from '../../src/snapshots/copy-tree.js';
import { nativeSnapshotter } from '../../src/snapshots/native.js';
import { lgetxattr, lsetxattr, mknod } from '../../src/sys/index.js';
import { isRoot, tempDir } from '../fixtures/env.js';
import { checkDirectoryEqual } from './fstest.js';

/** A tree with every kind of entry a layer can hold (devices and owners only as root). */
async function richTree(dir: string): Promise<void> {
  await mkdir(join(dir, 'd', 'sub'), { recursive: true });
  await writeFile(join(dir, 'd', 'sub', 'file'), 'hello');
  await writeFile(join(dir, 'suid'), '#!/bin/sh\n');
  await chmod(join(dir, 'suid'), 0o4755);
  await mkdir(join(dir, 'sticky'));
  await chmod(join(dir, 'sticky'), 0o1777);
  await link(join(dir, 'd', 'sub', 'file'), join(dir, 'hardlink'));
  await symlink('d/sub/file', join(dir, 'symlink'));
  await symlink('/nonexistent/target', join(dir, 'dangling'));
  mknod(join(dir, 'fifo'), 'fifo', 0o640);
  lsetxattr(join(dir, 'd', 'sub', 'file'), 'user.note', Buffer.from('kept'));
  await utimes(
    join(dir, 'd', 'sub', 'file'),
    new Date(1_000_000_000_000),
    new Date(1_234_567_890_000),
  );
  if (isRoot) {
    mknod(join(dir, 'null'), 'char', 0o666, 1, 3);
    mknod(join(dir, 'blk'), 'block', 0o600, 7, 300);
    await lchown(join(dir, 'd', 'sub'), 1000, 1001);
    await lchown(join(dir, 'symlink'), 1002, 1003);
    lsetxattr(join(dir, 'd'), 'trusted.strata', Buffer.from('t'));
  }
  await chmod(join(dir, 'd'), 0o750);
}

describe('native copies', () => {
  it('keep types, modes, owners, xattrs, times and hardlinks', async () => {
    const base = await tempDir('strata-copy-');
    const src = join(base, 'src');
    await mkdir(src);
    await richTree(src);
    await copyTree(src, join(base, 'dst'));
    await checkDirectoryEqual(src, join(base, 'dst'));
    const copied = await lstat(join(base, 'dst', 'd', 'sub', 'file'));
    expect(copied.mtimeMs).toBe(1_234_567_890_000);
    expect(copied.nlink).toBe(2);
    expect(copied.ino).not.toBe((await lstat(join(src, 'd', 'sub', 'file'))).ino);
    expect(lgetxattr(join(base, 'dst', 'd', 'sub', 'file'), 'user.note')?.toString()).toBe('kept');
    if (isRoot) {
      expect(lgetxattr(join(base, 'dst', 'd'), 'trusted.strata')?.toString()).toBe('t');
      expect((await lstat(join(base, 'dst', 'blk'))).rdev).toBe(
        (await lstat(join(src, 'blk'))).rdev,
      );
    }
  });

  it('match what GNU cp -a makes of the same tree', async () => {
    const base = await tempDir('strata-copy-', { fast: true });
    const src = join(base, 'src');
    await mkdir(src);
    await richTree(src);
    await copyTree(src, join(base, 'ours'));
    execFileSync('cp', ['-a', src, join(base, 'theirs')]);
    await checkDirectoryEqual(join(base, 'theirs'), join(base, 'ours'));
  });

  it('without preserveOwners leave files to the copier', async () => {
    const base = await tempDir('strata-copy-');
    const src = join(base, 'src');
    await mkdir(src);
    await writeFile(join(src, 'f'), 'x');
    await lchown(join(src, 'f'), 4242, 4242).catch(() => undefined);
    await copyTree(src, join(base, 'dst'), { preserveOwners: false });
    expect((await lstat(join(base, 'dst', 'f'))).uid).toBe(process.getuid?.());
  });

  it('isolate a child from its parent: the snapshot is a copy, not shared inodes', async () => {
    const root = await tempDir('strata-native-');
    const sn = nativeSnapshotter({
      root,
      db: openDatabase(join(root, 'meta.db')),
      namespace: 'default',
    });
    await sn.prepare('l1');
    const parent = await sn.applyTarget('l1');
    await richTree(parent.dir);
    await sn.commit('c1', 'l1');
    await sn.prepare('l2', 'c1');
    const child = await sn.applyTarget('l2');
    expect(child).toEqual({ dir: child.dir, parents: [], whiteouts: 'delete', rootless: !isRoot });
    await checkDirectoryEqual(parent.dir, child.dir);
    await writeFile(join(child.dir, 'd', 'sub', 'file'), 'changed');
    expect(await readFile(join(parent.dir, 'd', 'sub', 'file'), 'utf8')).toBe('hello');
    // A view needs no copy: it is the parent, read-only.
    expect(await sn.view('v', 'c1')).toEqual([
      { type: 'bind', source: parent.dir, options: ['ro', 'rbind'] },
    ]);
  });
});
