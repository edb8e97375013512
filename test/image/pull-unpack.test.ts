/**
 * Pull = fetch + unpack in one pass, against a real registry: the rootfs equals what umoci
 * unpacks from the same image (both snapshotters), layers are applied from the download's
 * own bytes across cut connections, and broken layers fail the pull naming their digest
 * with nothing recorded and no half-made snapshot left.
 */
import { createHash, randomBytes } from 'node:crypto';
import { getEventListeners } from 'node:events';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isCode } from '../../src/errors.js';
import type { ProgressEvent } from '../../src/progress.js';
import type { SnapshotterName } from '../../src/snapshots/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { diffTrees, snapshotTree } from '../apply/tree.js';
import { isRoot, missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { gzip, type TarEntrySpec } from '../fixtures/tar-builder.js';
import { comparable, imageOf, mountedTree, umociRootfs } from './fixtures.js';

const noRegistry = missing({ commands: [REGISTRY_BIN] });
const noMount = missing({ root: true, commands: [REGISTRY_BIN, 'umoci'] });
const t = (d: number) => 1_650_000_000 + d * 86_400;
const big = randomBytes(6 * 1024 * 1024);

/** Three layers: every entry type, a hardlink and implicit dirs over a lower layer, whiteouts, an opaque dir. */
const layers: TarEntrySpec[][] = [
  [
    { name: './', mode: 0o755, mtime: t(0) },
    { name: 'bin/', mode: 0o755, mtime: t(1) },
    { name: 'bin/ping', content: 'ping', mode: 0o4755, mtime: t(2) },
    { name: 'etc/', mode: 0o755, mtime: t(3) },
    { name: 'etc/shadow', content: 'root:*:1::::::\n', mode: 0o640, gid: 42, mtime: t(4) },
    { name: 'etc/apt/', mode: 0o755, mtime: t(5) },
    {
      name: 'etc/apt/sources.list',
      content: 'deb http://deb.debian.org/debian bookworm main\n',
      mtime: t(5),
    },
    { name: 'var/', mode: 0o755, mtime: t(6) },
    { name: 'var/mail/', mode: 0o2775, gid: 8, mtime: t(7) },
    { name: 'var/fifo', type: 'fifo', mode: 0o600, mtime: t(8) },
    { name: 'dev/', mode: 0o755, mtime: t(9) },
    { name: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, mtime: t(9) },
    { name: 'lib', type: 'symlink', linkname: 'usr/lib', mtime: t(10) },
    { name: 'usr/', mode: 0o755, mtime: t(10), xattrs: { 'user.note': 'usr' } },
    { name: 'usr/lib/', mode: 0o755, mtime: t(11) },
    { name: 'usr/lib/big', content: big, mtime: t(12) },
  ],
  [
    { name: 'bin/ping-again', type: 'link', linkname: 'bin/ping' }, // a file of layer 0; no bin/ entry
    { name: 'var/mail/root', content: 'mail', mode: 0o600, mtime: t(20) }, // var/mail/ only below
    { name: 'etc/', mode: 0o755, mtime: t(21) },
    { name: 'etc/.wh.shadow' },
    { name: 'usr/lib/.wh.big' }, // usr/lib/ only below: the whiteout waits for its parents
  ],
  [
    { name: 'etc/apt/', mode: 0o755, mtime: t(30) },
    { name: 'etc/apt/.wh..wh..opq' },
    { name: 'etc/apt/NOTE', content: 'replaced\n', mtime: t(31) },
    { name: 'opt/', mode: 0o755, mtime: t(32) },
    { name: 'opt/app/', mode: 0o750, uid: 100, gid: 100, mtime: t(32) },
    { name: 'opt/app/run', content: 'run', mode: 0o755, uid: 100, gid: 100, mtime: t(32) },
    { name: 'usr/lib/big', content: big.subarray(0, 1000), mtime: t(33) }, // back again, smaller
  ],
];

describe.skipIf(noRegistry)(`pull and unpack in one pass${skipNote(noRegistry)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: TestImage;
  let dir: string;
  let n = 0;
  const fresh = async (): Promise<Strata> =>
    openStrata({ root: join(dir, `root${n++}`), namespace: 'test' });
  const snapshotters: SnapshotterName[] = isRoot ? ['overlay', 'native'] : ['native'];

  beforeAll(async () => {
    dir = await tempDir('strata-pull-unpack-');
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    image = imageOf(layers);
    await pushImage(registry.url, 'lab/app', 'v1', image);
  });
  afterAll(async () => {
    await proxy?.stop();
    await registry?.stop();
  });

  describe.skipIf(noMount)(`gives the rootfs umoci unpacks${skipNote(noMount)}`, () => {
    let want: ReturnType<typeof comparable>;
    beforeAll(() => {
      want = comparable(umociRootfs(image, join(dir, 'umoci')));
    });
    it.each(['overlay', 'native'] as const)('with the %s snapshotter', async (sn) => {
      const strata = await fresh();
      await strata.pull(`${registry.host}/lab/app:v1`, { snapshotter: sn });
      const got = await mountedTree(strata, `${registry.host}/lab/app:v1`, sn, dir);
      expect(want.size).toBeGreaterThan(15);
      expect(diffTrees(want, got)).toEqual([]);
      strata.close();
    });
  });

  it.each(snapshotters)(
    'applies a layer from its download, across a cut connection (%s)',
    async (sn) => {
      const strata = await fresh();
      const big0 = image.layers[0]!;
      proxy.clear();
      const path = new RegExp(big0.digest.slice(7));
      proxy.inject(path, { kind: 'cut', after: 1_000_000 }, 1);
      // The rest comes slowly (~2.5 s), so the unpack surely starts before it ends.
      proxy.inject(path, { kind: 'slow', bytesPerSecond: 2 * 1024 * 1024 }, 1);
      const events: ProgressEvent[] = [];
      await strata.pull(`${proxy.host}/lab/app:v1`, {
        snapshotter: sn,
        onProgress: (e) => events.push(e),
        // A slot per layer: with two, the small layers' downloads may start first and take
        // both (overlay applies layers in any order), leaving layer 0 to the store.
        maxConcurrentUnpacks: 3,
      });
      const mine = events.filter((e) => e.id === big0.digest).map((e) => e.phase);
      // One pass: the layer was being unpacked before its download finished (and resumed).
      expect(mine.indexOf('unpacking')).toBeGreaterThan(-1);
      expect(mine.indexOf('unpacking')).toBeLessThan(mine.indexOf('done'));
      expect(mine).toContain('retrying');
      const ranged = proxy.requests.filter((r) => r.path.includes(big0.digest.slice(7)) && r.range);
      expect(ranged.length).toBeGreaterThan(0);
      await expectUsable(strata, sn);
      strata.close();
    },
  );

  it.each(snapshotters)(
    're-applies from the store when a download restarts from zero (%s)',
    async (sn) => {
      const strata = await fresh();
      const big0 = image.layers[0]!;
      const path = new RegExp(big0.digest.slice(7));
      // The body is cut, the resumed range comes back corrupted, the digest fails: the
      // ingest restarts from zero, so the bytes the unpack saw are void; it starts over.
      proxy.clear();
      proxy.inject(path, { kind: 'cut', after: 2_000_000 }, 1);
      proxy.inject(path, { kind: 'corrupt' }, 1);
      const events: ProgressEvent[] = [];
      await strata.pull(`${proxy.host}/lab/app:v1`, {
        snapshotter: sn,
        onProgress: (e) => events.push(e),
      });
      const faults = proxy.requests.filter((r) => path.test(r.path) && r.fault).map((r) => r.fault);
      expect(faults).toEqual(['cut', 'corrupt']);
      const phases = events.filter((e) => e.id === big0.digest).map((e) => e.phase);
      expect(phases.filter((p) => p === 'unpacking').length).toBeGreaterThan(1);
      await expectUsable(strata, sn);
      strata.close();
    },
  );

  it('reuses layers already unpacked', async () => {
    const strata = await fresh();
    await strata.pull(`${registry.host}/lab/app:v1`);
    const events: ProgressEvent[] = [];
    await strata.pull(`${registry.host}/lab/app:v1`, { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.phase === 'unpacking')).toEqual([]);
    expect(events.filter((e) => e.phase === 'unpacked').length).toBe(3);
    strata.close();
  });

  it('leaves no listener on a signal shared by several pulls', async () => {
    const strata = await fresh();
    const { signal } = new AbortController();
    for (let i = 0; i < 3; i++) {
      await strata.pull(`${registry.host}/lab/app:v1`, { signal, snapshotter: 'native' });
      await strata.pull(`${registry.host}/lab/app:v1`, { signal, snapshotter: 'native' });
    }
    expect(getEventListeners(signal, 'abort')).toEqual([]);
    strata.close();
  });

  it.each(snapshotters)(
    'fails naming the layer when its diffID is wrong, recording nothing (%s)',
    async (sn) => {
      const good = imageOf(layers);
      const wrong = imageOf(layers, {
        diffIds: [good.diffIds[0]!, `sha256:${'e'.repeat(64)}`, good.diffIds[2]!],
      });
      await pushImage(registry.url, 'lab/wrong-diffid', 'v1', wrong);
      const strata = await fresh();
      const err = await strata
        .pull(`${registry.host}/lab/wrong-diffid:v1`, { snapshotter: sn })
        .catch((e: unknown) => e);
      expect(isCode(err, 'FailedPrecondition')).toBe(true);
      expect((err as Error).message).toContain(`layer ${wrong.layers[1]!.digest}: diffID mismatch`);
      await expectNothingRecorded(strata, sn);
      strata.close();
    },
  );

  it.each(snapshotters)(
    'fails naming the layer when it is not a tar, recording nothing (%s)',
    async (sn) => {
      // Layer 1 is gzip of random bytes: a valid blob (its digest matches) that is no tar.
      const good = imageOf(layers);
      const fixed = imageOf(layers, {
        raw: [good.layers[0]!.bytes, gzip(randomBytes(300_000)), good.layers[2]!.bytes],
        diffIds: [good.diffIds[0]!, `sha256:${'0'.repeat(64)}`, good.diffIds[2]!],
      });
      await pushImage(registry.url, 'lab/garbage', 'v1', fixed);
      const strata = await fresh();
      const err = await strata
        .pull(`${registry.host}/lab/garbage:v1`, { snapshotter: sn })
        .catch((e: unknown) => e);
      expect(isCode(err, 'InvalidArgument')).toBe(true);
      expect((err as Error).message).toContain(`layer ${fixed.layers[1]!.digest}:`);
      await expectNothingRecorded(strata, sn);
      strata.close();
    },
  );

  it('records nothing when aborted, and the next pull completes', async () => {
    const strata = await fresh();
    const controller = new AbortController();
    const err = await strata
      .pull(`${registry.host}/lab/app:v1`, {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.phase === 'unpacking') controller.abort(new Error('stop'));
        },
      })
      .catch((e: unknown) => e);
    expect(isCode(err, 'Aborted')).toBe(true);
    await expectNothingRecorded(strata, isRoot ? 'overlay' : 'native');
    await strata.pull(`${registry.host}/lab/app:v1`);
    expect(strata.images.list().length).toBe(1);
    strata.close();
  });

  /** The image is recorded and its top snapshot holds the right files (read without mounting). */
  async function expectUsable(strata: Strata, sn: SnapshotterName): Promise<void> {
    expect(strata.images.list().map((i) => i.name)).toEqual([
      expect.stringContaining('/lab/app:v1'),
    ]);
    const snapshotter = await strata.snapshotter(sn);
    const names: string[] = [];
    await snapshotter.walk((i) => {
      names.push(`${i.kind}`);
    });
    expect(names).toEqual(['committed', 'committed', 'committed']);
    // The base layer's own directory holds the whole of layer 0 in both snapshotters.
    const base = (await snapshotter.view('check', image.diffIds[0]!)).at(-1)!.source;
    const tree = snapshotTree(base);
    expect(tree.get('usr/lib/big')?.sha256).toBe(createHash('sha256').update(big).digest('hex'));
    await snapshotter.remove('check');
  }
});

async function expectNothingRecorded(strata: Strata, sn: SnapshotterName): Promise<void> {
  expect(strata.images.list()).toEqual([]);
  const kinds: string[] = [];
  await (await strata.snapshotter(sn)).walk((i) => {
    kinds.push(i.kind);
  });
  expect(kinds.filter((k) => k !== 'committed')).toEqual([]);
}
