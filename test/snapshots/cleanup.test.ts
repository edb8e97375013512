import { closeSync, constants, openSync } from 'node:fs';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import { openDatabase } from '../../src/metadata/db.js';
import { nativeSnapshotter } from '../../src/snapshots/native.js';
import { overlaySnapshotter } from '../../src/snapshots/overlay.js';
import { createStaging, newId } from '../../src/snapshots/staging.js';
import type { Snapshotter } from '../../src/snapshots/types.js';
import { tryLock } from '../../src/sys/index.js';
import { tempDir } from '../fixtures/env.js';

async function setup(make: typeof nativeSnapshotter = nativeSnapshotter) {
  const root = await tempDir('strata-cleanup-');
  const db = openDatabase(join(root, 'meta.db'));
  const sn: Snapshotter = make({ root, db, namespace: 'default' });
  return { root, db, sn, dir: join(root, 'snapshots', sn.name) };
}

/** A directory as a crashed (or live) creator leaves it: `fs` inside, maybe a `.lock`. */
async function leftover(dir: string, name: string, lock: 'none' | 'dead' | 'live' = 'none') {
  await mkdir(join(dir, name, 'fs'), { recursive: true });
  await writeFile(join(dir, name, 'fs', 'file'), 'data');
  if (lock === 'none') return undefined;
  const fd = openSync(join(dir, name, '.lock'), constants.O_CREAT | constants.O_RDWR, 0o600);
  if (lock === 'dead') {
    closeSync(fd); // the kernel dropped the creator's flock when it died
    return undefined;
  }
  expect(tryLock(fd)).toBe(true);
  return fd;
}

const old = async (path: string) => {
  const then = new Date(Date.now() - 3_600_000);
  await utimes(path, then, then);
};

describe('crash safety and cleanup', () => {
  it('sweeps what crashes leave and keeps what live processes and rows own', async () => {
    const { sn, dir } = await setup();
    await sn.prepare('kept', undefined, {});
    const [keptId] = await readdir(dir);

    const orphan = newId(); // renamed in, then the process died before inserting its row
    await leftover(dir, orphan);
    await leftover(dir, 'rm-abcdefghij-0011'); // a remove that died while deleting
    await leftover(dir, 'tmp-dead01', 'dead'); // a creator that died while staging
    await old(join(dir, 'tmp-dead01'));
    await leftover(dir, 'tmp-racing', 'dead'); // just made: its creator may not hold the lock yet
    await leftover(dir, 'tmp-old001');
    await old(join(dir, 'tmp-old001')); // no lock file and old: its creator is long gone
    const live = await leftover(dir, 'tmp-live01', 'live'); // a creator still at work
    const published = newId(); // published by a live creator, row not yet inserted
    const publishing = await leftover(dir, published, 'live');
    await leftover(dir, 'tmp-young1'); // just made, lock file not yet there
    await leftover(dir, 'README'); // not ours
    await sn.cleanup();

    expect((await readdir(dir)).sort()).toEqual(
      [keptId, published, 'README', 'tmp-live01', 'tmp-racing', 'tmp-young1'].sort(),
    );
    closeSync(live!);
    closeSync(publishing!);
    await old(join(dir, 'tmp-live01'));
    await sn.cleanup(); // both creators died a while ago: now they are garbage
    expect((await readdir(dir)).sort()).toEqual(
      [keptId, 'README', 'tmp-racing', 'tmp-young1'].sort(),
    );
    expect((await sn.stat('kept')).kind).toBe('active');
  });

  it('a staging dir of this process survives a concurrent cleanup until published', async () => {
    const { sn, dir } = await setup();
    const staging = await createStaging(dir);
    await sn.cleanup();
    expect(await readdir(dir)).toEqual([staging.path.slice(dir.length + 1)]);
    const id = await staging.publish();
    await sn.cleanup(); // published but no row: still locked, so kept
    expect(await readdir(dir)).toEqual([id]);
    staging.release();
    await sn.cleanup(); // no row ever came: an orphan
    expect(await readdir(dir)).toEqual([]);
  });

  it('a failed prepare removes its directory (parent removed while copying)', async () => {
    const { sn, dir } = await setup();
    await sn.prepare('base', undefined, {});
    const target = await sn.applyTarget('base');
    for (let i = 0; i < 200; i++) await writeFile(join(target.dir, `f${i}`), 'x'.repeat(1000));
    await sn.commit('c', 'base');
    const prepared = sn.prepare('child', 'c');
    const removed = sn.remove('c');
    const [p, r] = await Promise.allSettled([prepared, removed]);
    // Either order is fine, but never a child row over a missing parent, nor stray dirs.
    if (r.status === 'fulfilled') {
      expect(p.status).toBe('rejected');
      expect(await readdir(dir)).toEqual([]);
    } else {
      expect(isCode(r.reason, 'FailedPrecondition')).toBe(true);
      expect(p.status).toBe('fulfilled');
      expect(await readdir(dir)).toHaveLength(2);
    }
  });

  it('an aborted prepare leaves neither a row nor a directory', async () => {
    const { sn, dir } = await setup();
    await sn.prepare('base', undefined, {});
    const target = await sn.applyTarget('base');
    for (let i = 0; i < 500; i++) await writeFile(join(target.dir, `f${i}`), 'x');
    await sn.commit('c', 'base');
    const controller = new AbortController();
    const prepared = sn.prepare('child', 'c', { signal: controller.signal });
    controller.abort();
    const err = await prepared.catch((e: unknown) => e);
    expect(isCode(err, 'Aborted')).toBe(true);
    expect(await readdir(dir)).toHaveLength(1);
    expect(isCode(await sn.stat('child').catch((e: unknown) => e), 'NotFound')).toBe(true);
  });

  it('overlay cleanup leaves rows of other namespaces alone', async () => {
    const { root, db, sn, dir } = await setup(overlaySnapshotter);
    const other = overlaySnapshotter({ root, db, namespace: 'other' });
    await other.prepare('theirs', undefined, {});
    await sn.cleanup();
    expect(await readdir(dir)).toHaveLength(1);
    expect((await other.stat('theirs')).kind).toBe('active');
  });
});
