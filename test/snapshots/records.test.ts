import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import { openDatabase } from '../../src/metadata/db.js';
import { snapshotRecords } from '../../src/metadata/snapshots.js';
import { tempDir } from '../fixtures/env.js';

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return isCode(err) ? err.code : `unexpected: ${String(err)}`;
  }
};

describe('snapshot rows (migration 2)', () => {
  it('chain parents nearest first, keep the id across commit, and guard parents', async () => {
    const db = openDatabase(join(await tempDir(), 'meta.db'));
    const rows = snapshotRecords(db, 'default', 'overlay');
    rows.create({ key: 'a', id: 'id1', kind: 'active' });
    rows.commit('c1', 'a', { l: '1' });
    rows.create({ key: 'b', id: 'id2', kind: 'active', parent: 'c1' });
    rows.commit('c2', 'b', {});
    rows.create({ key: 'top', id: 'id3', kind: 'view', parent: 'c2', labels: { x: 'y' } });
    expect(rows.chain('top').parentIds).toEqual(['id2', 'id1']);
    expect(rows.get('c1')).toMatchObject({ id: 'id1', kind: 'committed', labels: { l: '1' } });
    expect(rows.get('c1').parent).toBeUndefined();
    expect(codeOf(() => rows.remove('c2'))).toBe('FailedPrecondition');
    expect(codeOf(() => rows.create({ key: 'x', id: 'id4', kind: 'active', parent: 'top' }))).toBe(
      'InvalidArgument',
    );
    expect(codeOf(() => rows.create({ key: 'top', id: 'id5', kind: 'active' }))).toBe(
      'AlreadyExists',
    );
    // The foreign key holds even for a writer that skips the checks.
    expect(() => db.prepare("DELETE FROM snapshots WHERE key = 'c2'").run()).toThrow(/FOREIGN KEY/);
  });

  it('keep ids unique per snapshotter across namespaces, but not across snapshotters', async () => {
    const db = openDatabase(join(await tempDir(), 'meta.db'));
    snapshotRecords(db, 'a', 'overlay').create({ key: 'k', id: 'same', kind: 'active' });
    snapshotRecords(db, 'a', 'native').create({ key: 'k', id: 'same', kind: 'active' });
    expect(() =>
      snapshotRecords(db, 'b', 'overlay').create({ key: 'k', id: 'same', kind: 'active' }),
    ).toThrow(/UNIQUE/);
    const b = snapshotRecords(db, 'b', 'overlay');
    expect(b.hasId('same')).toBe(true);
    expect(b.list()).toEqual([]);
    expect([...b.ids()]).toEqual(['same']);
  });

  it('cache usage only for committed rows', async () => {
    const db = openDatabase(join(await tempDir(), 'meta.db'));
    const rows = snapshotRecords(db, 'default', 'native');
    rows.create({ key: 'a', id: 'i', kind: 'active' });
    rows.cacheUsage('a', 'i', { size: 1, inodes: 1 });
    expect(rows.get('a').usage).toBeUndefined();
    rows.commit('c', 'a', {});
    rows.cacheUsage('c', 'i', { size: 4096, inodes: 2 });
    expect(rows.get('c').usage).toEqual({ size: 4096, inodes: 2 });
  });
});
