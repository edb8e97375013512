/**
 * `strata fsck` on damaged roots (each damage reported as an error naming the thing at
 * fault, exit 1; crash garbage reported, exit 0, removed by --repair), and `strata leases`
 * with `--lease`: what a command creates under a user's lease survives gc until the lease
 * is removed or expires.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { imageOf } from '../image/fixtures.js';

const noRegistry = missing({ commands: [REGISTRY_BIN] });

describe.skipIf(noRegistry)(`fsck and leases${skipNote(noRegistry)}`, () => {
  let registry: TestRegistry;
  let dir: string;
  let image: TestImage;
  let ref: string;
  let n = 0;
  const freshRoot = async () => {
    const root = join(dir, `root${n++}`);
    const pulled = await strata(['pull', '--snapshotter', 'native', ref], { root });
    expect(pulled.code, pulled.stderr).toBe(0);
    return root;
  };
  const blobFile = (root: string, digest: string) =>
    join(root, 'content', 'blobs', 'sha256', digest.slice('sha256:'.length));
  const digests = async (root: string) =>
    (
      JSON.parse((await strata(['content', 'ls', '--json'], { root })).stdout) as {
        digest: string;
      }[]
    )
      .map((c) => c.digest)
      .sort();

  beforeAll(async () => {
    dir = await tempDir('strata-fsck-');
    registry = await startRegistry();
    image = imageOf([
      [
        { name: 'etc/', mode: 0o755 },
        { name: 'etc/os-release', content: 'ID=test\n' },
      ],
      [
        { name: 'app/', mode: 0o755 },
        { name: 'app/data', content: randomBytes(50_000) },
      ],
    ]);
    await pushImage(registry.url, 'fsck/app', 'v1', image);
    ref = `${registry.host}/fsck/app:v1`;
  });
  afterAll(() => registry?.stop());

  describe('fsck', () => {
    it('finds a pulled root consistent', async () => {
      const root = await freshRoot();
      const r = await strata(['fsck'], { root });
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^consistent: checked 4 blobs/m);
    });

    it('reports a corrupt blob by digest, and exits 1', async () => {
      const root = await freshRoot();
      const layer = image.layers[1]!;
      const path = blobFile(root, layer.digest);
      chmodSync(path, 0o644);
      const bytes = readFileSync(path);
      bytes[100] = (bytes[100]! + 1) & 0xff;
      writeFileSync(path, bytes);
      const r = await strata(['fsck'], { root });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`error: blob ${layer.digest}: corrupt`);
      expect(r.stdout).toMatch(/^INCONSISTENT/m);
      // --no-verify skips the hashing, so it does not see it.
      expect((await strata(['fsck', '--no-verify'], { root })).code).toBe(0);
    });

    it('reports a missing blob, both as content and as what the image needs', async () => {
      const root = await freshRoot();
      const layer = image.layers[0]!;
      rmSync(blobFile(root, layer.digest));
      const r = await strata(['fsck'], { root });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`error: content ${layer.digest}: recorded in namespace default`);
    });

    it('reports a layer the image needs that is not stored (removed by content rm)', async () => {
      const root = await freshRoot();
      const layer = image.layers[1]!;
      expect((await strata(['content', 'rm', layer.digest], { root })).code).toBe(0);
      const r = await strata(['fsck'], { root });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`error: image ${ref}: namespace default: needs ${layer.digest}`);
    });

    it('reports a snapshot whose directory is gone', async () => {
      const root = await freshRoot();
      const snapshots = join(root, 'snapshots', 'native');
      const [first] = (
        JSON.parse(
          (await strata(['snapshots', 'ls', '--snapshotter', 'native', '--json'], { root })).stdout,
        ) as {
          name: string;
        }[]
      ).map((s) => s.name);
      for (const id of readdirSync(snapshots)) rmSync(join(snapshots, id), { recursive: true });
      const r = await strata(['fsck'], { root });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(`error: snapshot ${first}: native, namespace default: directory`);
    });

    it('reports crash garbage as consistent, and --repair removes it', async () => {
      const root = await freshRoot();
      // A staging directory a crashed unpack left a while ago (young ones may be in use: kept).
      const strayDir = join(root, 'snapshots', 'native', 'tmp-crashed01');
      mkdirSync(join(strayDir, 'fs'), { recursive: true });
      const old = new Date(Date.now() - 3600_000);
      utimesSync(join(strayDir, 'fs'), old, old);
      utimesSync(strayDir, old, old);
      const stray = Buffer.from('nothing refers to me');
      const expected = `sha256:${createHash('sha256').update(stray).digest('hex')}`;
      const ingest = await strata(['content', 'ingest', 'stray', '--expected', expected], {
        root,
        input: stray,
      });
      expect(ingest.code, ingest.stderr).toBe(0);
      const before = await strata(['fsck'], { root });
      expect(before.code, before.stdout).toBe(0);
      expect(before.stdout).toMatch(/^garbage: root: 1 unreferenced blobs/m);
      expect(before.stdout).toContain('1 snapshot directories without records');
      const repair = await strata(['fsck', '--repair'], { root });
      expect(repair.code, repair.stdout).toBe(0);
      expect(repair.stdout).toContain('(repaired)');
      const after = await strata(['fsck'], { root });
      expect(after.stdout).not.toMatch(/^garbage/m);
      // What the image needs is all still there.
      expect(
        (await strata(['images', 'unpack', '--snapshotter', 'native', ref], { root })).code,
      ).toBe(0);
    });
  });

  describe('leases', () => {
    it('create, ls, --lease holds what a command fetches from gc, rm frees it', async () => {
      const root = join(dir, `root${n++}`);
      const created = await strata(
        ['leases', 'create', '--expires', '1h', '--label', 'team=ops', '--json'],
        { root },
      );
      expect(created.code, created.stderr).toBe(0);
      const lease = JSON.parse(created.stdout) as { id: string; labels: Record<string, string> };
      expect(lease.labels).toEqual({ team: 'ops' });
      const listed = JSON.parse((await strata(['leases', 'ls', '--json'], { root })).stdout);
      expect(listed.map((l: { id: string }) => l.id)).toEqual([lease.id]);

      // Fetched without an image: only the lease keeps it.
      expect((await strata(['--lease', lease.id, 'content', 'fetch', ref], { root })).code).toBe(0);
      expect((await strata(['gc'], { root })).code).toBe(0);
      expect(await digests(root)).toHaveLength(4);
      expect((await strata(['leases', 'rm', lease.id], { root })).code).toBe(0);
      expect((await strata(['gc'], { root })).code).toBe(0);
      expect(await digests(root)).toEqual([]);

      // The same fetch without a lease is gone at the next gc.
      expect((await strata(['content', 'fetch', ref], { root })).code).toBe(0);
      expect(await digests(root)).toHaveLength(4);
      expect((await strata(['gc'], { root })).code).toBe(0);
      expect(await digests(root)).toEqual([]);
    });

    it('an expired lease holds nothing and gc removes it; an unknown lease is refused', async () => {
      const root = join(dir, `root${n++}`);
      const id = (await strata(['leases', 'create', '--expires', '1s'], { root })).stdout.trim();
      expect((await strata(['--lease', id, 'content', 'fetch', ref], { root })).code).toBe(0);
      await new Promise((r) => setTimeout(r, 1100));
      const gc = await strata(['gc', '--json'], { root });
      expect(JSON.parse(gc.stdout)).toMatchObject({ leases: 1, content: { blobs: 4 } });
      expect(JSON.parse((await strata(['leases', 'ls', '--json'], { root })).stdout)).toEqual([]);
      const unknown = await strata(['--lease', 'nope', 'content', 'ls'], { root });
      expect(unknown.code).toBe(1);
      expect(unknown.stderr.trim()).toBe('strata: lease nope: not found');
    });
  });
});
