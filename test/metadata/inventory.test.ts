/**
 * The inventory (src/metadata/inventory.ts): every table gc and fsck read, all namespaces,
 * in one snapshot; and the deletions gc's sweep makes, exactly the keys given.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openBlobStore, writeBlob } from '../../src/content/index.js';
import {
  type Db,
  deleteRecords,
  imageStore,
  leaseStore,
  listIngests,
  namespacedContentStore,
  openDatabase,
  readInventory,
  snapshotRecords,
  write,
} from '../../src/metadata/index.js';
import { digestOf } from '../../src/oci/digest.js';
import { tempDir } from '../fixtures/env.js';

const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
/** SQLite's BINARY collation, for ASCII keys. */
const byBytes = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);

/** A database and blob store in a fresh directory. */
async function freshRoot() {
  const dir = await tempDir('strata-inventory-');
  return { db: openDatabase(join(dir, 'meta.db')), blobs: await openBlobStore(join(dir, 'c')) };
}

/**
 * One of each record in namespace `ns`, through the stores: an image, two content records
 * (one labelled), an open ingest, a lease holding the content and the snapshots, a parent
 * and a child snapshot row.
 */
async function populate(db: Db, blobs: Awaited<ReturnType<typeof openBlobStore>>, ns: string) {
  const lease = leaseStore(db, ns).create({ id: `op-${ns}`, labels: { who: ns } });
  const content = namespacedContentStore(db, blobs, ns, { lease: lease.id });
  const layer = Buffer.from(`layer of ${ns}`);
  const manifest = Buffer.from(`manifest of ${ns}`);
  await writeBlob(content, layer, { expected: digestOf(layer) });
  await writeBlob(content, manifest, {
    expected: digestOf(manifest),
    labels: { 'containerd.io/gc.ref.content.l.0': digestOf(layer) },
  });
  const writer = await content.writer({ ref: `dl-${ns}`, expected: digestOf(`later ${ns}`) });
  await writer.write(Buffer.from('part'));
  await writer.close();
  const target = { mediaType: MANIFEST, digest: digestOf(manifest), size: manifest.length };
  imageStore(db, ns).create({ name: `example.com/${ns}:1`, target });
  const snapshots = snapshotRecords(db, ns, 'native', { lease: lease.id });
  snapshots.create({ key: 'base-active', id: `1${ns}`, kind: 'active' });
  snapshots.commit('base', 'base-active', { k: 'v' });
  snapshots.create({ key: 'child', id: `2${ns}`, kind: 'active', parent: 'base' });
  return { layer: digestOf(layer), manifest: digestOf(manifest), lease: lease.id };
}

describe('metadata inventory', () => {
  it('reads every table, every namespace, in primary-key order', async () => {
    const { db, blobs } = await freshRoot();
    const b = await populate(db, blobs, 'b');
    const a = await populate(db, blobs, 'a');
    const inv = readInventory(db);
    expect(inv.images).toEqual(
      ['a', 'b'].map((ns, i) => ({
        namespace: ns,
        name: `example.com/${ns}:1`,
        digest: [a, b][i]!.manifest,
      })),
    );
    const content = (ns: string, d: typeof a) =>
      [
        { namespace: ns, digest: d.layer, size: `layer of ${ns}`.length, labels: {} },
        {
          namespace: ns,
          digest: d.manifest,
          size: `manifest of ${ns}`.length,
          labels: { 'containerd.io/gc.ref.content.l.0': d.layer },
        },
      ].sort((x, y) => byBytes(x.digest, y.digest));
    expect(inv.content).toEqual([...content('a', a), ...content('b', b)]);
    expect(inv.snapshots).toEqual(
      ['a', 'b'].flatMap((ns) => [
        {
          namespace: ns,
          snapshotter: 'native',
          key: 'base',
          id: `1${ns}`,
          kind: 'committed',
          parent: null,
          labels: { k: 'v' },
        },
        {
          namespace: ns,
          snapshotter: 'native',
          key: 'child',
          id: `2${ns}`,
          kind: 'active',
          parent: 'base',
          labels: {},
        },
      ]),
    );
    expect(inv.ingests).toMatchObject(
      ['a', 'b'].map((ns) => ({
        namespace: ns,
        ref: `dl-${ns}`,
        expected: digestOf(`later ${ns}`),
      })),
    );
    for (const i of inv.ingests) expect(i.expiresAt).toBeGreaterThan(Date.now());
    expect(listIngests(db)).toEqual(inv.ingests);
    expect(inv.leases).toEqual(
      [a, b].map((d, i) => {
        const ns = ['a', 'b'][i]!;
        return {
          namespace: ns,
          id: d.lease,
          labels: { who: ns },
          expiresAt: null,
          resources: [
            // An open ingest holds the digest it is expected to become, too.
            ...[d.layer, d.manifest, digestOf(`later ${ns}`)].map((id) => ({
              type: 'content',
              id,
            })),
            // writeBlob ingests under the digest as ref.
            ...[`dl-${ns}`, d.layer, d.manifest].map((id) => ({ type: 'ingests', id })),
            { type: 'snapshots/native', id: 'base' },
            { type: 'snapshots/native', id: 'base-active' },
            { type: 'snapshots/native', id: 'child' },
          ].sort((x, y) => byBytes(`${x.type}\0${x.id}`, `${y.type}\0${y.id}`)),
        };
      }),
    );
    db.close();
  });

  it('sees another connection’s transactions whole: never half of one', async () => {
    const { db } = await freshRoot();
    // Many rows in the table read first widen the gap between the statements of one read.
    write(db, () => {
      const leases = leaseStore(db, 'bulk');
      for (let i = 0; i < 20_000; i++) leases.create({ id: `bulk-${i}` });
    });
    // Another process commits a lease and an image together, again and again.
    const dist = fileURLToPath(new URL('../../dist/src/metadata/index.js', import.meta.url));
    const script = `
      const m = await import(${JSON.stringify(dist)});
      const db = m.openDatabase(${JSON.stringify(db.name)});
      const leases = m.leaseStore(db, 'pair');
      const images = m.imageStore(db, 'pair');
      const target = { mediaType: 'x', digest: 'sha256:' + 'a'.repeat(64), size: 1 };
      process.stdout.write('ready\\n');
      for (let i = 0; ; i++) {
        m.write(db, () => {
          leases.create({ id: 'pair-' + i });
          images.put({ name: 'pair-' + i, target });
        });
      }
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.once('data', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited ${code}`)));
      });
      const seen = new Set<number>();
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && seen.size < 30) {
        const inv = readInventory(db);
        const leases = inv.leases.filter((l) => l.namespace === 'pair').length;
        const images = inv.images.filter((i) => i.namespace === 'pair').length;
        expect(images).toBe(leases);
        seen.add(images);
        await new Promise((resolve) => setImmediate(resolve));
      }
      // The reads did overlap the writer's commits (or the test proves nothing).
      expect(seen.size).toBeGreaterThan(5);
    } finally {
      child.kill();
      db.close();
    }
  });

  it('deletes exactly the records given, lease resources with their lease', async () => {
    const { db, blobs } = await freshRoot();
    const a = await populate(db, blobs, 'a');
    const b = await populate(db, blobs, 'b');
    const before = readInventory(db);
    deleteRecords(db, {
      content: [
        { namespace: 'a', digest: a.layer },
        { namespace: 'a', digest: digestOf('never stored') },
      ],
      snapshots: [
        { namespace: 'b', snapshotter: 'native', key: 'child' },
        { namespace: 'b', snapshotter: 'native', key: 'base' },
      ],
      ingests: [{ namespace: 'b', ref: 'dl-b' }],
      leases: [{ namespace: 'a', id: a.lease }],
    });
    const after = readInventory(db);
    expect(after.images).toEqual(before.images);
    expect(after.content).toEqual(
      before.content.filter((c) => !(c.namespace === 'a' && c.digest === a.layer)),
    );
    expect(after.snapshots).toEqual(before.snapshots.filter((s) => s.namespace === 'a'));
    expect(after.ingests).toEqual(before.ingests.filter((i) => i.namespace === 'a'));
    expect(after.leases).toEqual(before.leases.filter((l) => l.id === b.lease));
    expect(
      db.prepare('SELECT count(*) FROM lease_resources WHERE namespace = ?').pluck().get('a'),
    ).toBe(0);
    db.close();
  });

  it('deletes inside the caller’s write transaction, and all or nothing', async () => {
    const { db, blobs } = await freshRoot();
    const a = await populate(db, blobs, 'a');
    const before = readInventory(db);
    // Joined to a transaction that fails afterwards: rolled back with it.
    expect(() =>
      write(db, () => {
        deleteRecords(db, { ingests: [{ namespace: 'a', ref: 'dl-a' }] });
        expect(readInventory(db).ingests).toEqual([]);
        throw new Error('the caller fails');
      }),
    ).toThrow('the caller fails');
    expect(readInventory(db)).toEqual(before);
    // A parent before its child: SQLite refuses it, and the content deleted first comes back.
    expect(() =>
      deleteRecords(db, {
        content: [{ namespace: 'a', digest: a.layer }],
        snapshots: [
          { namespace: 'a', snapshotter: 'native', key: 'base' },
          { namespace: 'a', snapshotter: 'native', key: 'child' },
        ],
      }),
    ).toThrow(/FOREIGN KEY/);
    expect(readInventory(db)).toEqual(before);
    db.close();
  });
});
