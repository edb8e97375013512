import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/metadata/db.js';
import { mountAll, unmountAll } from '../../src/snapshots/mount.js';
import {
  overlayMounts,
  overlaySnapshotter,
  supportsIndexOption,
} from '../../src/snapshots/overlay.js';
import { defaultSnapshotter } from '../../src/snapshots/select.js';
import { lsetxattr, mknod } from '../../src/sys/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';

const needsRoot = missing({ root: true });

async function setup(options: { rootless?: boolean; fast?: boolean } = {}) {
  const base = await tempDir('strata-overlay-', { fast: options.fast ?? false });
  const root = join(base, 'root');
  await mkdir(root);
  const db = openDatabase(join(root, 'meta.db'));
  const sn = overlaySnapshotter({
    root,
    db,
    namespace: 'default',
    ...(options.rootless === undefined ? {} : { rootless: options.rootless }),
  });
  return { base, root, sn };
}

describe('overlay mounts', () => {
  const dirs = { fs: '/s/9/fs', work: '/s/9/work' };
  it('follow containerd: bind without parents, overlay with, views read-only', () => {
    expect(overlayMounts('active', dirs, [])).toEqual([
      { type: 'bind', source: '/s/9/fs', options: ['rw', 'rbind'] },
    ]);
    expect(overlayMounts('view', dirs, [])).toEqual([
      { type: 'bind', source: '/s/9/fs', options: ['ro', 'rbind'] },
    ]);
    expect(overlayMounts('view', dirs, ['/s/2/fs'])).toEqual([
      { type: 'bind', source: '/s/2/fs', options: ['ro', 'rbind'] },
    ]);
    expect(overlayMounts('active', dirs, ['/s/2/fs', '/s/1/fs'], ['index=off'])).toEqual([
      {
        type: 'overlay',
        source: 'overlay',
        options: ['workdir=/s/9/work', 'upperdir=/s/9/fs', 'lowerdir=/s/2/fs:/s/1/fs', 'index=off'],
      },
    ]);
    expect(overlayMounts('view', dirs, ['/s/2/fs', '/s/1/fs'])).toEqual([
      { type: 'overlay', source: 'overlay', options: ['lowerdir=/s/2/fs:/s/1/fs'] },
    ]);
  });

  it('add index=off where the kernel has it, and userxattr when rootless', async () => {
    const { sn } = await setup({ rootless: true });
    await sn.prepare('a');
    await sn.commit('c', 'a');
    const [m] = await sn.prepare('b', 'c');
    expect(m?.options).toContain('userxattr');
    expect(m?.options.includes('index=off')).toBe(supportsIndexOption());
    expect(await sn.applyTarget('b')).toMatchObject({
      whiteouts: 'overlay',
      rootless: true,
    });
    const plain = (await setup()).sn;
    await plain.prepare('a');
    expect(await plain.applyTarget('a')).toMatchObject({ rootless: false });
  });
});

describe.skipIf(needsRoot)(`overlay on a real mount${skipNote(needsRoot)}`, () => {
  it('takes whiteouts in overlay form from a layer applied into applyTarget', async () => {
    const { base, sn } = await setup();
    await sn.prepare('l1');
    const lower = await sn.applyTarget('l1');
    await writeFile(join(lower.dir, 'gone'), 'x');
    await mkdir(join(lower.dir, 'opaque'));
    await writeFile(join(lower.dir, 'opaque', 'hidden'), 'x');
    await writeFile(join(lower.dir, 'kept'), 'kept');
    await sn.commit('c1', 'l1');

    await sn.prepare('l2', 'c1');
    const upper = await sn.applyTarget('l2');
    expect(upper).toMatchObject({ parents: [lower.dir], whiteouts: 'overlay', rootless: false });
    mknod(join(upper.dir, 'gone'), 'char', 0, 0, 0); // whiteout
    await mkdir(join(upper.dir, 'opaque'));
    lsetxattr(join(upper.dir, 'opaque'), 'trusted.overlay.opaque', Buffer.from('y'));
    await writeFile(join(upper.dir, 'opaque', 'new'), 'new');
    await sn.commit('c2', 'l2');

    // Two parents: a real (lowerdir-only) overlay, not a bind.
    const mounts = await sn.view('v', 'c2');
    expect(mounts[0]?.type).toBe('overlay');
    const target = await mkdtemp(join(base, 'mnt-'));
    await mountAll(mounts, target);
    try {
      expect((await readdir(target)).sort()).toEqual(['kept', 'opaque']);
      expect(await readdir(join(target, 'opaque'))).toEqual(['new']);
      expect(await readFile(join(target, 'kept'), 'utf8')).toBe('kept');
    } finally {
      await unmountAll(target);
    }
  });

  it('writes of an active overlay land in its upper dir, not in the parent', async () => {
    const { base, sn } = await setup({ fast: true });
    await sn.prepare('l1');
    const lower = await sn.applyTarget('l1');
    await writeFile(join(lower.dir, 'f'), 'lower');
    await sn.commit('c1', 'l1');
    const target = await mkdtemp(join(base, 'mnt-'));
    await mountAll(await sn.prepare('l2', 'c1'), target);
    try {
      await writeFile(join(target, 'f'), 'upper');
    } finally {
      await unmountAll(target);
    }
    expect(await readFile(join(lower.dir, 'f'), 'utf8')).toBe('lower');
    expect(await readFile(join((await sn.applyTarget('l2')).dir, 'f'), 'utf8')).toBe('upper');
  });

  it('mounts 128 layers whose options exceed a page, by relative paths', async () => {
    const { base, sn } = await setup();
    let parent: string | undefined;
    for (let i = 0; i < 128; i++) {
      await sn.prepare(`l${i}`, parent);
      await writeFile(join((await sn.applyTarget(`l${i}`)).dir, `f${i}`), String(i));
      parent = `c${i}`;
      await sn.commit(parent, `l${i}`);
    }
    const mounts = await sn.prepare('top', parent);
    expect(mounts[0]?.options.join(',').length).toBeGreaterThan(4096);
    const target = await mkdtemp(join(base, 'mnt-'));
    const cwd = process.cwd();
    await mountAll(mounts, target);
    try {
      expect(process.cwd()).toBe(cwd);
      expect(await readdir(target)).toHaveLength(128);
      expect(await readFile(join(target, 'f0'), 'utf8')).toBe('0');
      expect(await readFile(join(target, 'f127'), 'utf8')).toBe('127');
    } finally {
      await unmountAll(target);
    }
  });

  it('is the default as root on ext4 and on tmpfs', async () => {
    for (const fast of [false, true]) {
      const root = await tempDir('strata-default-', { fast });
      expect(await defaultSnapshotter(root)).toBe('overlay');
      expect(await readdir(join(root, 'snapshots', 'overlay'))).toEqual([]); // probe cleaned up
    }
  });
});
