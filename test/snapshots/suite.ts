import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import { type Db, openDatabase } from '../../src/metadata/db.js';
import { mountAll, unmountAll } from '../../src/snapshots/mount.js';
import type { Info, Mount, Snapshotter } from '../../src/snapshots/types.js';
import { isRoot, skipNote, tempDir } from '../fixtures/env.js';
import {
  type Applier,
  apply,
  checkDirectoryEqual,
  chown,
  createDir,
  createFile,
  link,
  removeAll,
  rename,
} from './fstest.js';

/** A fresh snapshotter over a fresh root. */
export type SnapshotterFactory = (options: {
  root: string;
  db: Db;
  namespace: string;
}) => Snapshotter;

export interface SuiteOptions {
  /** Where roots live: the disk (/tmp) or tmpfs (/dev/shm). */
  readonly fast?: boolean;
  /** overlayfs cannot rename a directory of a lower layer (without redirect_dir). */
  readonly renamesLowerDirectories: boolean;
}

export interface Harness {
  readonly sn: Snapshotter;
  readonly root: string;
  readonly db: Db;
  /** A play area for mount points and flat copies. */
  readonly work: string;
}

const opt = () => ({ labels: { 'containerd.io/gc.root': new Date().toISOString() } });

export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    return isCode(err) ? err.code : `unexpected: ${String(err)}`;
  }
}

/**
 * Runs `fn` on the mounted snapshot. Without root nothing can be mounted: a single bind
 * mount is then read through its source (what a non-root user of `native` gets).
 */
export async function withMounted<T>(
  mounts: readonly Mount[],
  work: string,
  fn: (dir: string) => Promise<T>,
): Promise<T> {
  if (!isRoot) {
    const [m] = mounts;
    if (mounts.length !== 1 || m?.type !== 'bind') throw new Error('mounting needs root');
    return fn(m.source);
  }
  const target = await mkdtemp(join(work, 'mnt-'));
  await mountAll(mounts, target);
  try {
    return await fn(target);
  } finally {
    await unmountAll(target);
    await rm(target, { recursive: true });
  }
}

/** containerd's createSnapshot: prepare on parent, apply, commit under a random name. */
async function createSnapshot(h: Harness, parent: string | undefined, a: Applier): Promise<string> {
  const name = `${randomBytes(6).toString('hex')}`;
  const key = `${name}-prepare`;
  const mounts = await h.sn.prepare(key, parent, opt());
  await withMounted(mounts, h.work, a);
  await h.sn.commit(name, key, opt());
  return name;
}

/** Views `name` and checks it holds the tree at `flat`. */
async function checkSnapshot(h: Harness, name: string, flat: string): Promise<void> {
  const view = `${name}-view`;
  const mounts = await h.sn.view(view, name, opt());
  try {
    await withMounted(mounts, h.work, (dir) => checkDirectoryEqual(flat, dir));
  } finally {
    await h.sn.remove(view);
  }
}

/** containerd's checkSnapshots: a chain of layers, each checked against one flat dir. */
async function checkSnapshots(h: Harness, ...appliers: Applier[]): Promise<void> {
  const flat = await mkdtemp(join(h.work, 'flat-'));
  let parent: string | undefined;
  for (const a of appliers) {
    const name = await createSnapshot(h, parent, a);
    await a(flat);
    await checkSnapshot(h, name, flat);
    parent = name;
  }
}

async function walked(sn: Snapshotter, filters?: string[]): Promise<string[]> {
  const names: string[] = [];
  await sn.walk((info) => {
    names.push(info.name);
  }, filters);
  return names.sort();
}

/**
 * The snapshotter conformance suite, after containerd's snapshots/testsuite, plus strata's
 * own cases (error codes, applyTarget, usage, crash safety, namespaces). Every
 * Snapshotter implementation runs it.
 */
export function snapshotterSuite(
  name: string,
  factory: SnapshotterFactory,
  options: SuiteOptions,
): void {
  const setup = async (namespace = 'testsuite'): Promise<Harness> => {
    const base = await tempDir(`strata-${name}-`, { fast: options.fast ?? false });
    const root = join(base, 'root');
    const work = join(base, 'work');
    await Promise.all([mkdir(root), mkdir(work)]);
    const db = openDatabase(join(root, 'meta.db'));
    return { sn: factory({ root, db, namespace }), root, db, work };
  };
  const needsRoot = isRoot ? undefined : 'needs root';

  describe(`${name} snapshotter (containerd testsuite)`, () => {
    it('Basic: prepare, apply, commit, prepare on it, view, remove in order', async () => {
      const h = await setup();
      const { sn, work } = h;
      const initial = apply(
        createFile('/foo', 'foo\n', 0o777),
        createDir('/a', 0o755),
        createDir('/a/b', 0o755),
        createDir('/a/b/c', 0o755),
      );
      const diff = apply(
        createFile('/bar', 'bar\n', 0o777),
        createFile('/foo', 'bar\n', 0o777),
        removeAll('/a/b'),
      );
      const preparing = join(work, 'preparing');
      const mounts = await sn.prepare(preparing, '', opt());
      expect(mounts.length).toBeGreaterThan(0);
      await withMounted(mounts, work, initial);
      const committed = join(work, 'committed');
      await sn.commit(committed, preparing, opt());
      const si = await sn.stat(committed);
      expect(si.parent).toBeUndefined();
      expect(si.kind).toBe('committed');
      expect(await codeOf(sn.stat(preparing))).toBe('NotFound');

      const next = join(work, 'nextlayer');
      const flat1 = await mkdtemp(join(work, 'flat-'));
      await initial(flat1);
      await withMounted(await sn.prepare(next, committed, opt()), work, async (dir) => {
        await checkDirectoryEqual(flat1, dir);
        await diff(dir);
      });
      const ni = await sn.stat(next);
      expect(ni).toMatchObject({ parent: committed, kind: 'active' });
      const nextCommitted = join(work, 'committed-next');
      await sn.commit(nextCommitted, next, opt());
      const si2 = await sn.stat(nextCommitted);
      expect(si2).toMatchObject({ parent: committed, kind: 'committed' });
      expect(await codeOf(sn.stat(next))).toBe('NotFound');

      const all = new Map<string, Info>();
      await sn.walk((i) => {
        all.set(i.name, i);
      });
      expect(all.get(si.name)).toEqual(si);
      expect(all.get(si2.name)).toEqual(si2);

      const nextnext = join(work, 'nextnextlayer');
      const flat2 = await mkdtemp(join(work, 'flat-'));
      await apply(initial, diff)(flat2);
      await withMounted(await sn.view(nextnext, nextCommitted, opt()), work, (dir) =>
        checkDirectoryEqual(flat2, dir),
      );
      await sn.remove(nextnext);
      const err = await sn.remove(committed).catch((e: unknown) => e);
      expect(isCode(err, 'FailedPrecondition')).toBe(true);
      expect(String((err as Error).message)).toContain('remove');
      await sn.remove(nextCommitted);
      await sn.remove(committed);
    });

    it('StatActive: a prepared snapshot is active without parent', async () => {
      const { sn, work } = await setup();
      const preparing = join(work, 'preparing');
      await withMounted(await sn.prepare(preparing, undefined, opt()), work, (dir) =>
        writeFile(join(dir, 'foo'), 'foo\n'),
      );
      const si = await sn.stat(preparing);
      expect(si).toMatchObject({ name: preparing, kind: 'active' });
      expect(si.parent).toBeUndefined();
    });

    it('StatCommitted: a committed snapshot is committed without parent', async () => {
      const { sn, work } = await setup();
      const preparing = join(work, 'preparing');
      await withMounted(await sn.prepare(preparing, undefined, opt()), work, (dir) =>
        writeFile(join(dir, 'foo'), 'foo\n'),
      );
      const committed = join(work, 'committed');
      await sn.commit(committed, preparing, opt());
      const si = await sn.stat(committed);
      expect(si).toMatchObject({ name: committed, kind: 'committed' });
      expect(si.parent).toBeUndefined();
    });

    it('Transitivity: A <- B, the parent of B is A and A has none', async () => {
      const { sn, work } = await setup();
      await withMounted(await sn.prepare('preparing', undefined, opt()), work, (dir) =>
        writeFile(join(dir, 'foo'), 'foo\n'),
      );
      await sn.commit('snapA', 'preparing', opt());
      await withMounted(await sn.prepare('next', 'snapA', opt()), work, (dir) =>
        writeFile(join(dir, 'foo'), 'foo bar\n'),
      );
      await sn.commit('snapB', 'next', opt());
      const siA = await sn.stat('snapA');
      const siB = await sn.stat('snapB');
      const siParentB = await sn.stat(siB.parent!);
      expect(siA.parent).toBeUndefined();
      expect(siB.parent).toBe('snapA');
      expect(siParentB.parent).toBeUndefined();
    });

    it('PrepareView: a key used twice fails with AlreadyExists', async () => {
      const { sn } = await setup();
      await sn.prepare('preparing', undefined, opt());
      await sn.commit('snapA', 'preparing', opt());
      await sn.prepare('newlayer', 'snapA', opt());
      expect(await codeOf(sn.view('newlayer', 'snapA', opt()))).toBe('AlreadyExists');
      await sn.prepare('prepLayer', 'snapA', opt());
      expect(await codeOf(sn.prepare('prepLayer', 'snapA', opt()))).toBe('AlreadyExists');
      await sn.view('viewLayer', 'snapA', opt());
      expect(await codeOf(sn.view('viewLayer', 'snapA', opt()))).toBe('AlreadyExists');
      // a committed name is a key too
      expect(await codeOf(sn.prepare('snapA', undefined, opt()))).toBe('AlreadyExists');
    });

    it('Update: labels replace, labels.<k> set or delete one, other fields are immutable', async () => {
      const { sn } = await setup();
      const t1 = Date.now();
      await baseTestSnapshots(sn);
      const t2 = Date.now();
      const cases = [
        { name: 'c1', kind: 'committed' },
        { name: 'c2', kind: 'committed', parent: 'c1' },
        { name: 'a1', kind: 'active', parent: 'c2' },
        { name: 'a2', kind: 'active' },
        { name: 'v1', kind: 'view', parent: 'c2' },
        { name: 'v2', kind: 'view' },
      ] as const;
      for (const tc of cases) {
        let st = await sn.stat(tc.name);
        expect(st.createdAt.getTime()).toBeGreaterThanOrEqual(t1);
        expect(st.createdAt.getTime()).toBeLessThanOrEqual(t2);
        expect(st.updatedAt).toEqual(st.createdAt);
        expect(st.kind).toBe(tc.kind);
        expect(st.parent).toBe('parent' in tc ? tc.parent : undefined);
        expect(st.name).toBe(tc.name);

        const createdAt = st.createdAt;
        const rootTime = new Date().toISOString();
        let expected: Record<string, string> = {
          l1: 'v1',
          l2: 'v2',
          l3: 'v3',
          'containerd.io/gc.root': rootTime,
        };
        const u1 = Date.now();
        st = await sn.update({ ...st, parent: 'doesnotexist', labels: expected });
        const u2 = Date.now();
        expect(st.createdAt).toEqual(createdAt);
        expect(st.updatedAt.getTime()).toBeGreaterThanOrEqual(u1);
        expect(st.updatedAt.getTime()).toBeLessThanOrEqual(u2);
        expect(st.kind).toBe(tc.kind);
        expect(st.parent).toBe('parent' in tc ? tc.parent : undefined);
        expect(st.name).toBe(tc.name);
        expect(st.labels).toEqual(expected);

        expected = { l1: 'updated', l3: 'v3', 'containerd.io/gc.root': rootTime };
        st = await sn.update({ ...st, labels: { l1: 'updated', l4: 'v4' } }, [
          'labels.l1',
          'labels.l2',
        ]);
        expect(st.labels).toEqual(expected);

        expected = { l4: 'v4', 'containerd.io/gc.root': rootTime };
        st = await sn.update({ ...st, labels: expected }, ['labels']);
        expect(st.labels).toEqual(expected);
        expect(await sn.stat(tc.name)).toEqual(st);

        expect(await codeOf(sn.update({ ...st, parent: 'doesnotexist' }, ['parent']))).toBe(
          'InvalidArgument',
        );
      }
      expect(await codeOf(sn.update({ ...(await sn.stat('c1')), name: 'nope' }))).toBe('NotFound');
    });

    it('Remove: keys are reusable after removal, by any kind', async () => {
      const { sn } = await setup();
      await sn.prepare('committed-a', undefined, opt());
      await sn.commit('committed-1', 'committed-a', opt());
      await sn.prepare('reuse-1', 'committed-1', opt());
      await sn.remove('reuse-1');
      await sn.view('reuse-1', 'committed-1', opt());
      await sn.remove('reuse-1');
      await sn.prepare('reuse-1', undefined, opt());
      await sn.remove('committed-1');
      await sn.commit('committed-1', 'reuse-1', opt());
      expect((await sn.stat('committed-1')).kind).toBe('committed');
    });

    it('RemoveIntermediateSnapshot: removing a snapshot with children fails', async () => {
      const { sn } = await setup();
      await sn.prepare('base', undefined, opt());
      await sn.commit('committed-base', 'base', opt());
      await sn.prepare('intermediate', 'committed-base', opt());
      await sn.commit('committed-inter', 'intermediate', opt());
      await sn.prepare('toplayer', 'committed-inter', opt());
      expect(await codeOf(sn.remove('committed-inter'))).toBe('FailedPrecondition');
      await sn.remove('toplayer');
      await sn.remove('committed-inter');
      await sn.remove('committed-base');
      expect(await walked(sn)).toEqual([]);
    });

    it('Walk: filters on name, parent, kind and labels', async () => {
      const { sn } = await setup();
      const o = { labels: { 'containerd.io/gc.root': 'check-walk' } };
      const withL = (l: string) => ({ labels: { l, 'containerd.io/gc.root': 'check-walk' } });
      await sn.prepare('a-np', undefined, o);
      await sn.prepare('p-tmp', undefined, o);
      await sn.commit('p', 'p-tmp', o);
      await sn.prepare('a', 'p', o);
      await sn.view('v', 'p', o);
      await sn.prepare('p-wl-tmp', undefined, o);
      await sn.commit('p-wl', 'p-wl-tmp', withL('1'));
      await sn.prepare('a-wl', 'p-wl', withL('2'));
      await sn.view('v-wl', 'p-wl', withL('3'));
      await sn.prepare('a-np-wl', undefined, withL('2'));
      const cases: [string[], string[]][] = [
        [
          ['a-np', 'p', 'a', 'v', 'p-wl', 'a-wl', 'v-wl', 'a-np-wl'],
          ['labels."containerd.io/gc.root"==check-walk'],
        ],
        [
          ['a-np', 'a', 'a-wl', 'a-np-wl'],
          ['kind==active,labels."containerd.io/gc.root"==check-walk'],
        ],
        [['v', 'v-wl'], ['kind==view,labels."containerd.io/gc.root"==check-walk']],
        [['p', 'p-wl'], ['kind==committed,labels."containerd.io/gc.root"==check-walk']],
        [
          ['p', 'a-np-wl'],
          ['name==p', 'name==a-np-wl'],
        ],
        [['a-wl'], ['name==a-wl,labels.l']],
        [['a', 'v'], ['parent==p']],
        [['a', 'v', 'a-wl', 'v-wl'], ['parent!="",labels."containerd.io/gc.root"==check-walk']],
        [['p-wl', 'a-wl', 'v-wl', 'a-np-wl'], ['labels.l']],
        [['a-wl', 'a-np-wl'], ['labels.l==2']],
      ];
      for (const [matches, filters] of cases) {
        expect(await walked(sn, filters), filters.join(' | ')).toEqual([...matches].sort());
      }
      expect(await codeOf(sn.walk(() => undefined, ['"unterminated']))).toBe('InvalidArgument');
    });

    it('StatInWalk: stat works inside a walk and agrees with it', async () => {
      const { sn } = await setup();
      const prefix = 'stats-in-walk-';
      await sn.prepare(`${prefix}c1-a`, undefined, opt());
      await sn.commit(`${prefix}c1`, `${prefix}c1-a`, opt());
      await sn.prepare(`${prefix}c2-a`, `${prefix}c1`, opt());
      await sn.commit(`${prefix}c2`, `${prefix}c2-a`, opt());
      await sn.prepare(`${prefix}a1`, `${prefix}c2`, opt());
      await sn.view(`${prefix}v1`, `${prefix}c2`, opt());
      let n = 0;
      await sn.walk(async (info) => {
        expect(await sn.stat(info.name)).toEqual(info);
        n++;
      });
      expect(n).toBe(4);
    });

    it('LayerFileUpdate: a file updated in an upper layer', async () => {
      const h = await setup();
      const l1 = apply(
        createDir('/etc', 0o700),
        createFile('/etc/hosts', 'mydomain 10.0.0.1', 0o644),
        createFile('/etc/profile', 'PATH=/usr/bin', 0o644),
      );
      const l2 = apply(
        createFile('/etc/hosts', 'mydomain 10.0.0.2', 0o644),
        createFile('/etc/profile', 'PATH=/usr/bin', 0o666),
        createDir('/root', 0o700),
        createFile('/root/.bashrc', 'PATH=/usr/sbin:/usr/bin', 0o644),
      );
      for (let i = 0; i < 2; i++) await checkSnapshots(h, l1, l2);
    });

    it('RemoveDirectoryInLowerLayer: a directory removed and recreated above', async () => {
      const h = await setup();
      await checkSnapshots(
        h,
        apply(createDir('/lib', 0o700), createFile('/lib/hidden', '', 0o644)),
        apply(
          removeAll('/lib'),
          createDir('/lib', 0o700),
          createFile('/lib/not-hidden', '', 0o644),
        ),
        apply(createFile('/lib/newfile', '', 0o644)),
      );
    });

    it.skipIf(needsRoot)(
      `Chown: owners changed in an upper layer${skipNote(needsRoot)}`,
      async () => {
        const h = await setup();
        await checkSnapshots(
          h,
          apply(
            createDir('/opt', 0o700),
            createDir('/opt/a', 0o700),
            createDir('/opt/a/b', 0o700),
            createFile('/opt/a/b/file.txt', 'hello', 0o644),
          ),
          apply(
            chown('/opt', 1, 1),
            chown('/opt/a', 1, 1),
            chown('/opt/a/b', 1, 1),
            chown('/opt/a/b/file.txt', 1, 1),
          ),
        );
      },
    );

    it.skipIf(needsRoot)(
      `DirectoryPermissionOnCommit: owners and modes survive removal and recreation${skipNote(needsRoot)}`,
      async () => {
        const h = await setup();
        await checkSnapshots(
          h,
          apply(
            createDir('/dir1', 0o700),
            createDir('/dir2', 0o700),
            createDir('/dir3', 0o700),
            createDir('/dir4', 0o700),
            createFile('/dir4/f1', '...', 0o644),
            createDir('/dir5', 0o700),
            createFile('/dir5/f1', '...', 0o644),
            chown('/dir1', 1, 1),
            chown('/dir2', 1, 1),
            chown('/dir3', 1, 1),
            chown('/dir5', 1, 1),
            chown('/dir5/f1', 1, 1),
          ),
          apply(
            chown('/dir2', 0, 0),
            removeAll('/dir3'),
            chown('/dir4', 1, 1),
            chown('/dir4/f1', 1, 1),
          ),
          apply(
            createDir('/dir3', 0o700),
            chown('/dir3', 1, 1),
            removeAll('/dir5'),
            createDir('/dir5', 0o700),
            chown('/dir5', 1, 1),
          ),
        );
      },
    );

    it('DeletedFilesInChildSnapshot: a file deleted in a child stays deleted', async () => {
      const h = await setup();
      await checkSnapshots(
        h,
        apply(createFile('/foo', 'foo\n', 0o777), createFile('/foobar', 'foobar\n', 0o777)),
        apply(removeAll('/foobar')),
        apply(),
      );
    });

    it('MoveFileFromLowerLayer: files moved and hardlinked out of a lower layer', async () => {
      const h = await setup();
      await checkSnapshots(
        h,
        apply(
          createDir('/dir1', 0o700),
          createFile('/dir1/f1', 'Hello', 0o644),
          createDir('dir2', 0o700),
          createFile('dir2/f2', '...', 0o644),
        ),
        apply(
          createDir('/dir3', 0o700),
          createFile('/dir3/f1', 'Hello', 0o644),
          removeAll('/dir1'),
          link('dir2/f2', 'dir3/f2'),
          removeAll('dir2/f2'),
        ),
      );
    });

    it('Rename: files renamed over and out of a lower layer', async () => {
      const h = await setup();
      const l2 = [
        ...(options.renamesLowerDirectories ? [rename('/dir1', '/dir2')] : []),
        createFile('/somefiles/f1-overwrite', 'new content 1', 0o644),
        rename('/somefiles/f1-overwrite', '/somefiles/f1'),
        rename('/somefiles/f2', '/somefiles/f3'),
      ];
      await checkSnapshots(
        h,
        apply(
          createDir('/dir1', 0o700),
          createDir('/somefiles', 0o700),
          createFile('/somefiles/f1', 'was here first!', 0o644),
          createFile('/somefiles/f2', 'nothing interesting', 0o644),
        ),
        apply(...l2),
      );
    });

    it.skipIf(needsRoot)(
      `ViewReadonly: a view mounts read-only${skipNote(needsRoot)}`,
      async () => {
        const { sn, work } = await setup();
        await sn.prepare('preparing', undefined, opt());
        await sn.commit('committed', 'preparing', opt());
        const mounts = await sn.view('view', 'committed', opt());
        const err = await withMounted(mounts, work, (dir) =>
          writeFile(join(dir, 'testfile'), 'testcontent').catch((e: unknown) => e),
        );
        expect((err as NodeJS.ErrnoException | undefined)?.code).toBe('EROFS');
        await sn.remove('view');
        await sn.remove('committed');
      },
    );

    it('RootPermission: the root of a new snapshot is 0755', async () => {
      const { sn, work } = await setup();
      const { stat } = await import('node:fs/promises');
      const mode = await withMounted(
        await sn.prepare('preparing', undefined, opt()),
        work,
        async (dir) => (await stat(dir)).mode & 0o777,
      );
      expect(mode.toString(8)).toBe('755');
    });

    it('128LayersMount: 128 layers stack and match a flat copy', async () => {
      const { sn, work } = await setup();
      const appliers: Applier[] = [
        apply(
          createFile('/bottom', 'way at the bottom\n', 0o777),
          createFile('/overwriteme', 'FIRST!\n', 0o777),
          createDir('/addhere', 0o755),
          createDir('/onlyme', 0o755),
          createFile('/onlyme/bottom', 'bye!\n', 0o777),
        ),
      ];
      for (let i = 1; i <= 127; i++) {
        appliers.push(
          apply(
            createFile('/overwriteme', `${i} WAS HERE!\n`, 0o777),
            createFile(`/addhere/file-${i}`, 'same\n', 0o755),
            removeAll('/onlyme'),
            createDir('/onlyme', 0o755),
            createFile(`/onlyme/file-${i}`, 'only me!\n', 0o777),
          ),
        );
      }
      const flat = join(work, 'flat');
      await mkdir(flat);
      let parent: string | undefined;
      for (const [i, a] of appliers.entries()) {
        const preparing = join(work, `prepare-layer-${i}`);
        await withMounted(await sn.prepare(preparing, parent, opt()), work, async (dir) => {
          await checkDirectoryEqual(flat, dir);
          await a(flat);
          await a(dir);
          await checkDirectoryEqual(flat, dir);
        });
        parent = join(work, `committed-${i}`);
        await sn.commit(parent, preparing, opt());
      }
      const view = join(work, 'fullview');
      const mounts = await sn.view(view, parent, opt());
      await withMounted(mounts, work, (dir) => checkDirectoryEqual(flat, dir));
    });
  });

  describe(`${name} snapshotter (strata cases)`, () => {
    it('fails with the error code the caller acts on', async () => {
      const { sn } = await setup();
      await sn.prepare('active', undefined, opt());
      await sn.view('view', undefined, opt());
      expect(await codeOf(sn.stat('missing'))).toBe('NotFound');
      expect(await codeOf(sn.prepare('x', 'missing'))).toBe('NotFound');
      expect(await codeOf(sn.prepare('x', 'active'))).toBe('InvalidArgument');
      expect(await codeOf(sn.view('x', 'view'))).toBe('InvalidArgument');
      expect(await codeOf(sn.prepare(''))).toBe('InvalidArgument');
      expect(await codeOf(sn.commit('c', 'view'))).toBe('FailedPrecondition');
      expect(await codeOf(sn.commit('c', 'missing'))).toBe('NotFound');
      expect(await codeOf(sn.remove('missing'))).toBe('NotFound');
      expect(await codeOf(sn.usage('missing'))).toBe('NotFound');
      expect(await codeOf(sn.applyTarget('view'))).toBe('FailedPrecondition');
      await sn.commit('c', 'active');
      expect(await codeOf(sn.mounts('c'))).toBe('FailedPrecondition');
      expect(await codeOf(sn.applyTarget('c'))).toBe('FailedPrecondition');
      await sn.prepare('active2', 'c');
      expect(await codeOf(sn.commit('c', 'active2'))).toBe('AlreadyExists');
      expect((await sn.stat('active2')).kind).toBe('active'); // a failed commit changes nothing
      const aborted = AbortSignal.abort();
      expect(await codeOf(sn.prepare('y', undefined, { signal: aborted }))).toBe('Aborted');
      expect(await codeOf(sn.stat('y'))).toBe('NotFound');
    });

    it('mounts() gives back what prepare() and view() returned', async () => {
      const { sn } = await setup();
      const base = await sn.prepare('base', undefined, opt());
      expect(await sn.mounts('base')).toEqual(base);
      await sn.commit('c1', 'base');
      await sn.prepare('l2', 'c1');
      await sn.commit('c2', 'l2');
      const active = await sn.prepare('active', 'c2');
      const view = await sn.view('view', 'c2');
      expect(await sn.mounts('active')).toEqual(active);
      expect(await sn.mounts('view')).toEqual(view);
    });

    it('applyTarget: a layer written into the directory is what a view of the commit shows', async () => {
      const h = await setup();
      const { sn, work } = h;
      await sn.prepare('l1', undefined, opt());
      const t1 = await sn.applyTarget('l1');
      expect(t1.parents).toEqual([]);
      await createFile('/a', 'one', 0o640)(t1.dir);
      await sn.commit('c1', 'l1');
      await sn.prepare('l2', 'c1', opt());
      const t2 = await sn.applyTarget('l2');
      expect(t2.whiteouts).toBe(name === 'overlay' ? 'overlay' : 'delete');
      expect(t2.parents).toEqual(name === 'overlay' ? [t1.dir] : []);
      await createFile('/b', 'two', 0o600)(t2.dir);
      await sn.commit('c2', 'l2');
      const flat = await mkdtemp(join(work, 'flat-'));
      await apply(createFile('/a', 'one', 0o640), createFile('/b', 'two', 0o600))(flat);
      await checkSnapshot(h, 'c2', flat);
    });

    it('usage counts the snapshot itself and is cached once committed', async () => {
      const { sn } = await setup();
      await sn.prepare('l1', undefined, opt());
      const empty = await sn.usage('l1');
      expect(empty.inodes).toBe(1);
      const { dir } = await sn.applyTarget('l1');
      await writeFile(join(dir, 'big'), randomBytes(1 << 20));
      await mkdir(join(dir, 'd'));
      const used = await sn.usage('l1');
      expect(used.inodes).toBe(3);
      expect(used.size).toBeGreaterThanOrEqual(1 << 20);
      await sn.commit('c1', 'l1');
      expect(await sn.usage('c1')).toEqual(used);
      await writeFile(join(dir, 'later'), 'x'); // committed snapshots do not change: cached
      expect(await sn.usage('c1')).toEqual(used);
      await sn.prepare('l2', 'c1');
      const child = await sn.usage('l2');
      if (name === 'overlay')
        expect(child.inodes).toBe(1); // parents excluded
      else expect(child.inodes).toBe(4); // native: its own full copy (root, big, d, later)
    });

    it('leaves only published snapshot dirs behind, and remove deletes the files', async () => {
      const { sn, root } = await setup();
      const dir = join(root, 'snapshots', name);
      const { readdir } = await import('node:fs/promises');
      await sn.prepare('a', undefined, opt());
      await sn.view('v', undefined, opt());
      await sn.commit('c', 'a');
      await sn.prepare('b', 'c');
      const entries = await readdir(dir);
      expect(entries).toHaveLength(3);
      for (const e of entries) {
        expect(e).toMatch(/^[a-z2-7]{10}$/);
        expect(await readdir(join(dir, e))).not.toContain('.lock');
      }
      await sn.remove('b');
      await sn.remove('v');
      await sn.remove('c');
      expect(await readdir(dir)).toEqual([]);
    });

    it('one of two concurrent prepares of a key wins; the loser leaves nothing', async () => {
      const { sn, root } = await setup();
      const { readdir } = await import('node:fs/promises');
      await sn.prepare('base', undefined, opt());
      await sn.commit('c', 'base');
      const results = await Promise.allSettled([
        sn.prepare('k', 'c'),
        sn.prepare('k', 'c'),
        sn.prepare('k', 'c'),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) {
        if (r.status === 'rejected') expect(isCode(r.reason, 'AlreadyExists')).toBe(true);
      }
      expect(await readdir(join(root, 'snapshots', name))).toHaveLength(2);
    });

    it('keeps namespaces apart, and a namespace with snapshots cannot be removed', async () => {
      const h = await setup('a');
      const b = factory({ root: h.root, db: h.db, namespace: 'b' });
      await h.sn.prepare('k', undefined, { labels: { ns: 'a' } });
      await b.prepare('k', undefined, { labels: { ns: 'b' } });
      expect((await h.sn.stat('k')).labels).toEqual({ ns: 'a' });
      expect((await b.stat('k')).labels).toEqual({ ns: 'b' });
      expect((await h.sn.applyTarget('k')).dir).not.toBe((await b.applyTarget('k')).dir);
      await b.remove('k');
      expect(await walked(b)).toEqual([]);
      expect(await walked(h.sn)).toEqual(['k']);
      const { namespaceStore } = await import('../../src/metadata/namespaces.js');
      const namespaces = namespaceStore(h.db);
      let err: unknown;
      try {
        namespaces.remove('a');
      } catch (e) {
        err = e;
      }
      expect(isCode(err, 'FailedPrecondition')).toBe(true);
      namespaces.remove('b');
    });
  });
}

/** containerd's baseTestSnapshots. */
async function baseTestSnapshots(sn: Snapshotter): Promise<void> {
  await sn.prepare('c1-a', undefined, opt());
  await sn.commit('c1', 'c1-a', opt());
  await sn.prepare('c2-a', 'c1', opt());
  await sn.commit('c2', 'c2-a', opt());
  await sn.prepare('a1', 'c2', opt());
  await sn.prepare('a2', undefined, opt());
  await sn.view('v1', 'c2', opt());
  await sn.view('v2', undefined, opt());
}
