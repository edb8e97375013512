/**
 * A full disk: the root lives on a small tmpfs. A pull whose download does not fit, and one
 * whose download fits but whose unpack does not, each fail with a one-line error saying
 * the device is full and naming the blob or layer; nothing is recorded, fsck finds the
 * store consistent, no half-applied snapshot stays; once the filesystem is grown the same
 * pull succeeds, resuming the download from the bytes kept.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mount, unmount } from '../../src/sys/index.js';
import { strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { imageOf } from '../image/fixtures.js';

const reason = missing({ root: true, commands: [REGISTRY_BIN] });
const MiB = 1024 * 1024;

describe.skipIf(reason)(`a full disk${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let dir: string;
  let random: TestImage;
  let zeros: TestImage;
  const mounted: string[] = [];

  /** A fresh tmpfs of `mib` MiB holding an empty root. */
  const smallDisk = (name: string, mib: number): string => {
    const disk = join(dir, name);
    mkdirSync(disk);
    mount('tmpfs', disk, 'tmpfs', 0, `size=${mib}m,mode=0700`);
    mounted.push(disk);
    return disk;
  };
  const grow = (disk: string, mib: number) =>
    mount('tmpfs', disk, 'tmpfs', MS_REMOUNT, `size=${mib}m,mode=0700`);

  beforeAll(async () => {
    dir = await tempDir('strata-disk-full-');
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    // Incompressible: the download itself overflows an 8 MiB disk.
    random = imageOf([
      [
        { name: 'data/', mode: 0o755 },
        { name: 'data/random', content: randomBytes(12 * MiB) },
      ],
    ]);
    // Compresses to almost nothing: the download fits, the unpacked file does not.
    zeros = imageOf([
      [
        { name: 'etc/', mode: 0o755 },
        { name: 'etc/os-release', content: 'ID=test\n' },
      ],
      [
        { name: 'data/', mode: 0o755 },
        { name: 'data/zeros', content: Buffer.alloc(12 * MiB) },
      ],
    ]);
    await pushImage(registry.url, 'full/random', 'v1', random);
    await pushImage(registry.url, 'full/zeros', 'v1', zeros);
  });
  afterAll(async () => {
    for (const disk of mounted.reverse()) {
      try {
        unmount(disk);
      } catch {}
    }
    await proxy?.stop();
    await registry?.stop();
  });

  /** The state a failed pull must leave: an error line, no image, a consistent store. */
  const failedCleanly = async (
    root: string,
    result: { code: number; stderr: string },
    subjects: readonly string[],
  ) => {
    expect(result.code, result.stderr).toBe(1);
    // Progress lines, then one error line.
    const lines = result.stderr
      .trim()
      .split('\n')
      .filter((l) => l.startsWith('strata: '));
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^strata: .*no space left on device/);
    // Which one runs out of room first (a layer's files, or the records of a layer applied
    // alongside it) is a matter of timing; the line names it either way.
    expect(
      subjects.some((d) => lines[0]!.includes(d)),
      lines[0],
    ).toBe(true);
    const images = await strata(['images', 'ls', '--json'], { root });
    expect(images.code, images.stderr).toBe(0);
    expect(JSON.parse(images.stdout)).toEqual([]);
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, fsck.stdout + fsck.stderr).toBe(0);
    const snapshots = await strata(['snapshots', 'ls', '--json'], { root });
    const active = (JSON.parse(snapshots.stdout) as { kind: string }[]).filter(
      (s) => s.kind !== 'committed',
    );
    expect(active, 'no half-applied snapshot stays (committed layers may)').toEqual([]);
  };

  it('a download that does not fit fails clearly, and resumes once there is room', async () => {
    const disk = smallDisk('download', 8);
    const root = join(disk, 'root');
    const ref = `${proxy.host}/full/random:v1`;
    const layer = random.layers[0]!;
    proxy.clear();
    const first = await strata(['pull', ref], { root });
    await failedCleanly(root, first, [layer.digest]);
    const active = JSON.parse((await strata(['content', 'active', '--json'], { root })).stdout);
    const kept = (active as { ref: string; offset: number }[]).find((a) => a.ref === layer.digest);
    expect(kept?.offset, 'the bytes that fitted are kept for a resume').toBeGreaterThan(MiB);

    grow(disk, 64);
    proxy.clear();
    const again = await strata(['pull', ref], { root });
    expect(again.code, again.stderr).toBe(0);
    const gets = proxy.requests.filter((r) => r.method === 'GET' && r.path.endsWith(layer.digest));
    expect(gets.map((r) => r.range)).toEqual([`bytes=${kept!.offset}-`]);
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, fsck.stdout).toBe(0);
  });

  it('an unpack that does not fit fails clearly, leaves no snapshot, and succeeds once there is room', async () => {
    const disk = smallDisk('unpack', 8);
    const root = join(disk, 'root');
    const ref = `${registry.host}/full/zeros:v1`;
    const first = await strata(['pull', ref], { root });
    await failedCleanly(
      root,
      first,
      zeros.layers.map((l) => l.digest),
    );

    grow(disk, 64);
    const again = await strata(['pull', ref], { root });
    expect(again.code, again.stderr).toBe(0);
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, fsck.stdout).toBe(0);
    const snapshots = JSON.parse((await strata(['snapshots', 'ls', '--json'], { root })).stdout);
    expect(snapshots).toHaveLength(2);
  });
});

const MS_REMOUNT = 32;
