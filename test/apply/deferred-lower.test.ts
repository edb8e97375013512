/**
 * Parallel overlay unpacking applies a layer before its parents exist (`parents: 'later'`)
 * and completes it with `finishLower` once they are committed. The result must be the
 * layer directory a sequential apply with the parents present would have made.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { finishLower } from '../../src/apply/index.js';
import { isCode } from '../../src/errors.js';
import { tempDir } from '../fixtures/env.js';
import type { TarEntrySpec } from '../fixtures/tar-builder.js';
import { applyEntries } from './helpers.js';
import { diffTrees, snapshotTree } from './tree.js';

const base: TarEntrySpec[] = [
  { name: './', mode: 0o750, uid: 7, gid: 8, mtime: 1_600_000_000 },
  {
    name: 'etc/',
    mode: 0o711,
    uid: 3,
    gid: 4,
    mtime: 1_600_000_100,
    xattrs: { 'user.tag': 'etc' },
  },
  { name: 'etc/app/', mode: 0o2770, uid: 5, gid: 6, mtime: 1_600_000_200 },
  { name: 'etc/app/conf', content: 'conf', mode: 0o640, uid: 5, gid: 6 },
  { name: 'usr/', mode: 0o755 },
  { name: 'usr/bin/', mode: 0o755 },
  { name: 'usr/bin/tool', content: 'tool v1', mode: 0o4755, uid: 0, gid: 0 },
  { name: 'srv/', mode: 0o700, uid: 9, gid: 9, mtime: 1_600_000_300 },
  { name: 'srv/old', content: 'old' },
  { name: 'srv2/', mode: 0o755 },
  { name: 'srv2/hidden', content: 'hidden by an opaque marker above' },
];

/** No entries for its parents: etc/, etc/app/ and the root take their metadata from below. */
const top: TarEntrySpec[] = [
  { name: 'etc/app/extra', content: 'extra' },
  { name: 'usr/bin/tool-link', type: 'link', linkname: 'usr/bin/tool' }, // a lower file
  { name: 'usr/bin/tool-link2', type: 'link', linkname: 'usr/bin/tool-link' }, // a deferred link
  { name: 'usr/bin/gone', type: 'link', linkname: 'usr/bin/tool' },
  { name: 'usr/bin/.wh.gone' }, // linked, then whited out by the same layer
  { name: 'opt/new/file', content: 'new' }, // implicit dirs with nothing below
  { name: 'srv/.wh.old' }, // srv/ is only below: the whiteout waits for the parents
  { name: 'nothere/.wh.x' }, // no layer has nothere/: nothing to hide
  { name: 'srv2/.wh..wh..opq' },
];

/** Made now by either apply (new dirs, whiteout devices): their times are creation times. */
const NEW_DIRS = new Set(['opt', 'opt/new', 'srv/old']);

function tree(dir: string) {
  const t = snapshotTree(dir, { mtimes: true });
  for (const path of NEW_DIRS) {
    const { mtime: _, ...rest } = t.get(path)!;
    t.set(path, rest);
  }
  return t;
}

describe("overlay layers applied before their parents ('later' + finishLower)", () => {
  it('give the same layer directory as an apply with the parents present', async () => {
    const dir = await tempDir('strata-deferred-');
    const lower = join(dir, 'lower');
    const sequential = join(dir, 'sequential');
    const deferred = join(dir, 'deferred');
    await applyEntries(base, lower, { whiteouts: 'overlay', parents: [] });
    await applyEntries(top, sequential, { whiteouts: 'overlay', parents: [lower] });
    const result = await applyEntries(top, deferred, { whiteouts: 'overlay', parents: 'later' });
    expect(result.deferred).toMatchObject({
      root: true,
      links: [
        { path: 'usr/bin/tool-link', target: 'usr/bin/tool' },
        { path: 'usr/bin/tool-link2', target: 'usr/bin/tool-link' },
        { path: 'usr/bin/gone', target: 'usr/bin/tool' },
      ],
    });
    expect([...(result.deferred?.dirs ?? [])].sort()).toEqual(
      ['etc', 'etc/app', 'opt', 'opt/new', 'usr', 'usr/bin'].sort(),
    );
    expect(result.deferred?.whiteouts).toEqual([
      { dir: 'srv', name: 'old' },
      { dir: 'nothere', name: 'x' },
      { dir: 'srv2', name: null },
    ]);
    finishLower(deferred, result.deferred!, { parents: [lower] });
    expect(diffTrees(tree(sequential), tree(deferred))).toEqual([]);
  });

  it('fail at finish when a deferred hardlink target exists in no layer', async () => {
    const dir = await tempDir('strata-deferred-');
    const lower = join(dir, 'lower');
    const layer = join(dir, 'layer');
    await applyEntries(base, lower, { whiteouts: 'overlay', parents: [] });
    const result = await applyEntries(
      [{ name: 'x', type: 'link', linkname: 'no/such/file' }],
      layer,
      {
        whiteouts: 'overlay',
        parents: 'later',
      },
    );
    let err: unknown;
    try {
      finishLower(layer, result.deferred!, { parents: [lower] });
    } catch (e) {
      err = e;
    }
    expect(isCode(err, 'InvalidArgument')).toBe(true);
  });

  it('record nothing for a layer that needs nothing from below', async () => {
    const layer = join(await tempDir('strata-deferred-'), 'layer');
    mkdirSync(layer);
    const result = await applyEntries(
      [{ name: './', mode: 0o755 }, { name: 'a/' }, { name: 'a/b', content: 'b' }],
      layer,
      {
        whiteouts: 'overlay',
        parents: 'later',
      },
    );
    expect(result.deferred).toEqual({ root: false, dirs: [], links: [], whiteouts: [] });
  });
});
