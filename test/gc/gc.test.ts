import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeBlob } from '../../src/content/index.js';
import { collectGarbage } from '../../src/gc/index.js';
import { digestOf } from '../../src/oci/digest.js';
import type { SnapshotterName } from '../../src/snapshots/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { strata } from '../fixtures/cli.js';
import { isRoot, missing, skipNote, tempDir } from '../fixtures/env.js';
import { pushImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import type { TarEntrySpec } from '../fixtures/tar-builder.js';
import { imageOf } from '../image/fixtures.js';

const noRegistry = missing({ commands: [REGISTRY_BIN] });
const base: TarEntrySpec[] = [
  { name: 'etc/', mode: 0o755 },
  { name: 'etc/os', content: 'base' },
];
const shared: TarEntrySpec[] = [
  { name: 'lib/', mode: 0o755 },
  { name: 'lib/big', content: randomBytes(200_000) },
];
const topA: TarEntrySpec[] = [
  { name: 'app/', mode: 0o755 },
  { name: 'app/a', content: 'a' },
];
const topB: TarEntrySpec[] = [
  { name: 'app/', mode: 0o755 },
  { name: 'app/b', content: randomBytes(100_000) },
];

/** What a root holds: blob files, committed snapshot names per snapshotter, snapshot dirs. */
async function holdings(s: Strata, sn: SnapshotterName) {
  const snapshots: string[] = [];
  await (await s.snapshotter(sn)).walk((i) => {
    snapshots.push(`${i.kind} ${i.name}`);
  });
  return {
    blobs: readdirSync(join(s.root, 'content', 'blobs', 'sha256')).sort(),
    snapshots: snapshots.sort(),
    dirs: readdirSync(join(s.root, 'snapshots', sn)).length,
    records: s.db.prepare('SELECT count(*) FROM content').pluck().get(),
  };
}

describe.skipIf(noRegistry)(`garbage collection${skipNote(noRegistry)}`, () => {
  let registry: TestRegistry;
  let dir: string;
  let n = 0;
  const fresh = () => openStrata({ root: join(dir, `root${n++}`), namespace: 'gc' });
  const snapshotters: SnapshotterName[] = isRoot ? ['overlay', 'native'] : ['native'];

  beforeAll(async () => {
    dir = await tempDir('strata-gc-');
    registry = await startRegistry();
    await pushImage(registry.url, 'gc/a', 'v1', imageOf([base, shared, topA]));
    await pushImage(registry.url, 'gc/b', 'v1', imageOf([base, shared, topB]));
  });
  afterAll(() => registry?.stop());

  it.each(snapshotters)(
    'after images rm, leaves exactly what the remaining image needs, as a fresh pull has it (%s)',
    async (sn) => {
      const strata = await fresh();
      await strata.pull(`${registry.host}/gc/a:v1`, { snapshotter: sn });
      await strata.pull(`${registry.host}/gc/b:v1`, { snapshotter: sn });
      const both = await holdings(strata, sn);
      expect((await collectGarbage(strata)).content.blobs).toBe(0); // nothing to free yet
      strata.images.delete(`${registry.host}/gc/b:v1`);
      const dry = await collectGarbage(strata, { dryRun: true });
      expect(dry.content.blobs).toBe(3); // b's manifest, config and top layer
      expect(dry.snapshots.records).toBe(1); // b's top layer snapshot
      expect(await holdings(strata, sn)).toEqual(both); // a dry run changes nothing
      const done = await collectGarbage(strata);
      expect(done).toMatchObject({
        dryRun: false,
        content: { blobs: 3 },
        snapshots: { records: 1 },
      });
      const reference = await fresh();
      await reference.pull(`${registry.host}/gc/a:v1`, { snapshotter: sn });
      expect(await holdings(strata, sn)).toEqual(await holdings(reference, sn));
      strata.images.delete(`${registry.host}/gc/a:v1`);
      await collectGarbage(strata);
      expect(await holdings(strata, sn)).toMatchObject({
        blobs: [],
        snapshots: [],
        dirs: 0,
        records: 0,
      });
      strata.close();
      reference.close();
    },
  );

  it('--discard-unpacked-layers frees the layer blobs no other image needs; the image stays usable', async () => {
    const root = join(dir, `root${n++}`);
    const a = `${registry.host}/gc/a:v1`;
    const b = `${registry.host}/gc/b:v1`;
    const image = imageOf([base, shared, topA]);
    const other = imageOf([base, shared, topB]);
    expect((await strata(['pull', b], { root })).code).toBe(0);
    const pulled = await strata(['pull', '--discard-unpacked-layers', a], { root });
    expect(pulled.code, pulled.stderr).toBe(0);
    const blobs = JSON.parse((await strata(['content', 'ls', '--json'], { root })).stdout).map(
      (c: { digest: string }) => c.digest,
    );
    // a's own top layer is gone; the layers b still holds stay; manifest and config stay.
    expect(blobs).not.toContain(image.layers[2]!.digest);
    for (const l of other.layers) expect(blobs).toContain(l.digest);
    expect(blobs).toContain(image.manifest.digest);
    expect(blobs).toContain(image.config.digest);
    // Still usable: every layer is unpacked already; the store is consistent.
    const unpack = await strata(['images', 'unpack', '--json', a], { root });
    expect(JSON.parse(unpack.stdout)).toMatchObject({ unpacked: 0 });
    const fsck = await strata(['fsck'], { root });
    expect(fsck.code, fsck.stdout).toBe(0);
    // Export needs the layers: it says which one is missing, and writes nothing.
    const out = join(dir, `export${n++}.tar`);
    const exported = await strata(['export', out, a], { root });
    expect(exported.code).toBe(1);
    expect(exported.stderr).toContain(
      `layer ${image.layers[2]!.digest}: not in the content store (discarded after unpacking?`,
    );
    expect(existsSync(out)).toBe(false);
    // Without the unpack there is nothing to discard after.
    const bad = await strata(['pull', '--no-unpack', '--discard-unpacked-layers', a], { root });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--discard-unpacked-layers/);
  });

  it('keeps what a live lease holds, and frees it once the lease is gone or expired', async () => {
    const strata = await fresh();
    const data = Buffer.from('written under a lease');
    const lease = strata.leases.create({ expiresInMs: 60_000 });
    await writeBlob(strata.withLease(lease.id).content, data, { expected: digestOf(data) });
    expect(strata.leases.resources(lease.id)).toContainEqual({
      type: 'content',
      id: digestOf(data),
    });
    await collectGarbage(strata);
    expect((await strata.content.info(digestOf(data))).size).toBe(data.length);
    strata.leases.delete(lease.id);
    expect((await collectGarbage(strata)).content.blobs).toBe(1);
    await expect(strata.content.info(digestOf(data))).rejects.toMatchObject({ code: 'NotFound' });

    const expired = strata.leases.create({ expiresInMs: 1 });
    const other = Buffer.from('held by an expired lease');
    await writeBlob(strata.withLease(expired.id).content, other, { expected: digestOf(other) });
    await new Promise((r) => setTimeout(r, 5));
    const r = await collectGarbage(strata);
    expect(r).toMatchObject({ leases: 1, content: { blobs: 1 } });
    expect(strata.leases.list()).toEqual([]);
    strata.close();
  });

  it('keeps records labelled containerd.io/gc.root', async () => {
    const strata = await fresh();
    const data = Buffer.from('a root of its own');
    await writeBlob(strata.content, data, {
      expected: digestOf(data),
      labels: { 'containerd.io/gc.root': 'yes' },
    });
    await collectGarbage(strata);
    expect((await strata.content.info(digestOf(data))).size).toBe(data.length);
    strata.close();
  });

  it('keeps unexpired ingests (resumable) for gc, discards them for prune unless leased', async () => {
    const strata = await fresh();
    const w = await strata.content.writer({ ref: 'resumable', total: 100 });
    await w.write(Buffer.alloc(50));
    await w.close();
    const lease = strata.leases.create();
    const held = await strata.withLease(lease.id).content.writer({ ref: 'in-flight' });
    await held.write(Buffer.alloc(10));
    await held.close();
    await collectGarbage(strata);
    expect((await strata.content.listStatuses()).map((s) => s.ref).sort()).toEqual([
      'in-flight',
      'resumable',
    ]);
    const pruned = await collectGarbage(strata, { ingests: 'all' });
    expect(pruned.ingests).toMatchObject({ records: 1, dirs: 1 });
    expect((await strata.content.listStatuses()).map((s) => s.ref)).toEqual(['in-flight']);
    strata.close();
  });

  it('content rm frees the bytes only when no namespace keeps them', async () => {
    const strata = await fresh();
    const other = strata.withNamespace('other');
    const data = Buffer.from('shared by two namespaces');
    const digest = digestOf(data);
    await writeBlob(strata.content, data, { expected: digest });
    await writeBlob(other.content, data, { expected: digest });
    const file = join(strata.root, 'content', 'blobs', 'sha256', digest.slice(7));
    await strata.content.delete(digest);
    expect(readdirSync(join(strata.root, 'content', 'blobs', 'sha256'))).toContain(digest.slice(7));
    await other.content.delete(digest);
    expect(readdirSync(join(strata.root, 'content', 'blobs', 'sha256'))).not.toContain(
      file.slice(-64),
    );
    strata.close();
  });
});
