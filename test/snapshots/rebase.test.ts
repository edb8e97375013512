import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import { openDatabase } from '../../src/metadata/db.js';
import { mountAll, unmountAll } from '../../src/snapshots/mount.js';
import { nativeSnapshotter } from '../../src/snapshots/native.js';
import { overlaySnapshotter } from '../../src/snapshots/overlay.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';

const needsRoot = missing({ root: true });

async function open(kind: 'overlay' | 'native') {
  const root = join(await tempDir('strata-rebase-'), 'root');
  await mkdir(root);
  const options = { root, db: openDatabase(join(root, 'meta.db')), namespace: 'default' };
  return kind === 'overlay' ? overlaySnapshotter(options) : nativeSnapshotter(options);
}

describe('rebase at commit (parallel unpack)', () => {
  it('overlay: layers prepared without parents, committed onto each other in order', async () => {
    const sn = await open('overlay');
    expect(sn.capabilities.rebase).toBe(true);
    // Both layers are filled independently, as parallel unpacking does.
    await sn.prepare('l0-active', '');
    await sn.prepare('l1-active', '');
    const [t0, t1] = await Promise.all([sn.applyTarget('l0-active'), sn.applyTarget('l1-active')]);
    await writeFile(join(t0.dir, 'base'), 'from layer 0');
    await writeFile(join(t1.dir, 'top'), 'from layer 1');
    await sn.commit('l0', 'l0-active');
    await sn.commit('l1', 'l1-active', { parent: 'l0' });
    expect(await sn.stat('l1')).toMatchObject({ kind: 'committed', parent: 'l0' });
    const err = await sn.remove('l0').catch((e: unknown) => e);
    expect(isCode(err, 'FailedPrecondition')).toBe(true);
    expect((await sn.mounts(await viewOf(sn, 'l1'))).at(-1)?.type).toBe('overlay');
  });

  it('refuses to rebase a snapshot that has a parent, or onto one not committed', async () => {
    const sn = await open('overlay');
    await sn.prepare('base-active', '');
    await sn.commit('base', 'base-active');
    await sn.prepare('child-active', 'base');
    const twice = await sn.commit('c', 'child-active', { parent: 'base' }).catch((e: unknown) => e);
    expect(isCode(twice, 'FailedPrecondition')).toBe(true);
    await sn.prepare('orphan', '');
    await sn.prepare('not-committed', '');
    const bad = await sn
      .commit('o', 'orphan', { parent: 'not-committed' })
      .catch((e: unknown) => e);
    expect(isCode(bad, 'InvalidArgument')).toBe(true);
  });

  it('native cannot rebase (a native snapshot is a copy of its parent)', async () => {
    const sn = await open('native');
    expect(sn.capabilities.rebase).toBe(false);
    await sn.prepare('a-active', '');
    await sn.commit('a', 'a-active');
    await sn.prepare('b-active', '');
    const err = await sn.commit('b', 'b-active', { parent: 'a' }).catch((e: unknown) => e);
    expect(isCode(err, 'FailedPrecondition')).toBe(true);
  });

  it.skipIf(needsRoot)(
    `overlay: a rebased stack mounts with both layers${skipNote(needsRoot)}`,
    async () => {
      const sn = await open('overlay');
      await sn.prepare('l0-active', '');
      await sn.prepare('l1-active', '');
      await writeFile(join((await sn.applyTarget('l0-active')).dir, 'base'), 'from layer 0');
      await writeFile(join((await sn.applyTarget('l1-active')).dir, 'top'), 'from layer 1');
      await sn.commit('l0', 'l0-active');
      await sn.commit('l1', 'l1-active', { parent: 'l0' });
      await sn.view('v', 'l1');
      const target = join(await tempDir('strata-rebase-mnt-'), 'mnt');
      await mkdir(target);
      await mountAll(await sn.mounts('v'), target);
      try {
        expect((await readdir(target)).sort()).toEqual(['base', 'top']);
        expect(await readFile(join(target, 'base'), 'utf8')).toBe('from layer 0');
      } finally {
        await unmountAll(target);
      }
    },
  );
});

async function viewOf(sn: Awaited<ReturnType<typeof open>>, parent: string): Promise<string> {
  await sn.view(`view-${parent}`, parent);
  return `view-${parent}`;
}
