import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import {
  compactOverlayOptions,
  mountAll,
  mountPoints,
  parseOptions,
  unmountAll,
} from '../../src/snapshots/mount.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';

const needsRoot = missing({ root: true });

describe('mount options', () => {
  it('split into flags and filesystem data', () => {
    expect(parseOptions(['ro', 'rbind'])).toEqual({ flags: 0x1 | 0x1000 | 0x4000, data: [] });
    expect(parseOptions(['ro', 'rw', 'nosuid', 'lowerdir=/a:/b', 'index=off'])).toEqual({
      flags: 0x2,
      data: ['lowerdir=/a:/b', 'index=off'],
    });
  });

  it('compact overlay paths relative to their deepest common directory', () => {
    const compact = compactOverlayOptions([
      'workdir=/r/snapshots/overlay/abc/work',
      'upperdir=/r/snapshots/overlay/abc/fs',
      'lowerdir=/r/snapshots/overlay/def/fs:/r/snapshots/overlay/ghi/fs',
      'index=off',
    ]);
    expect(compact).toEqual({
      dir: '/r/snapshots/overlay',
      data: 'workdir=abc/work,upperdir=abc/fs,lowerdir=def/fs:ghi/fs,index=off',
    });
    // The common directory is a whole path component, never a shared name prefix.
    expect(compactOverlayOptions(['lowerdir=/r/ab1/fs:/r/ab2/fs'])?.dir).toBe('/r');
    expect(compactOverlayOptions(['lowerdir=/a/fs:/b/fs'])).toBeUndefined();
    expect(compactOverlayOptions(['lowerdir=rel/fs:/b/fs'])).toBeUndefined();
  });
});

describe.skipIf(needsRoot)(`mountAll and unmountAll${skipNote(needsRoot)}`, () => {
  it('bind read-write, read-only on request, and unmount to the bottom', async () => {
    const base = await tempDir('strata-mount-');
    const [src, target] = [join(base, 'src'), join(base, 'target')];
    await Promise.all([mkdir(src), mkdir(target)]);
    await mountAll([{ type: 'bind', source: src, options: ['rw', 'rbind'] }], target);
    await writeFile(join(target, 'f'), 'through the mount');
    expect(await readFile(join(src, 'f'), 'utf8')).toBe('through the mount');
    await mountAll([{ type: 'bind', source: src, options: ['rw', 'rbind'] }], target, {
      readonly: true,
    });
    expect(mountPoints().filter((p) => p === target)).toHaveLength(2);
    const err = await writeFile(join(target, 'g'), 'x').catch((e: unknown) => e);
    expect((err as NodeJS.ErrnoException).code).toBe('EROFS');
    await unmountAll(target);
    expect(mountPoints()).not.toContain(target);
    await unmountAll(target); // nothing mounted: nothing to do
  });

  it('refuses overlay options that stay over a page even when relative', async () => {
    const base = await tempDir('strata-mount-');
    const lowers = Array.from({ length: 300 }, (_, i) =>
      join(base, `layer-with-a-long-name-${i}`, 'fs'),
    );
    const err = await mountAll(
      [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }],
      join(base, 'target'),
    ).catch((e: unknown) => e);
    expect(isCode(err, 'InvalidArgument')).toBe(true);
  });

  it('maps a failed mount to a StrataError naming the target', async () => {
    const base = await tempDir('strata-mount-');
    const err = await mountAll(
      [{ type: 'bind', source: join(base, 'missing'), options: ['rbind'] }],
      join(base, 'target'),
    ).catch((e: unknown) => e);
    expect(isCode(err, 'NotFound')).toBe(true);
    expect((err as Error).message).toContain(join(base, 'target'));
  });
});
