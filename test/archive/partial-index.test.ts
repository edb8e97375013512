/**
 * A multi-platform index of which only some platforms are stored (a pull or an import for
 * one platform keeps the index and that platform): exporting every platform writes what is
 * there, warning for each platform skipped; asking for a platform not stored is NotFound;
 * importing such an archive with every platform records the index labelled with the
 * platforms present, and without them names the missing manifest and its index.
 */
import { PassThrough, Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportImages, importArchive } from '../../src/archive/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';
import {
  allBlobs,
  buildImage,
  buildIndex,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';
import { buildTar } from '../fixtures/tar-builder.js';
import { layoutMembers } from './fixtures.js';

const NAME = 'example.com/partial/app:v1';
const dir = await tempDir('strata-partial-index-');
let n = 0;
const fresh = () => openStrata({ root: `${dir}/root${n++}`, namespace: 'test' });

async function exported(strata: Strata, options: Parameters<typeof exportImages>[3]) {
  const chunks: Buffer[] = [];
  const out = new PassThrough();
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportImages(strata, [NAME], out, options);
  return Buffer.concat(chunks);
}

describe('an index with some platforms stored', () => {
  let amd64: TestImage;
  let arm64: TestImage;
  let multi: TestIndex;
  let partial: Buffer;
  let source: Strata;

  beforeAll(async () => {
    amd64 = await buildImage({ layers: [{ files: { arch: 'amd64' } }] });
    arm64 = await buildImage({
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      layers: [{ files: { arch: 'arm64' } }],
    });
    multi = buildIndex([amd64, arm64]);
    const armBlobs = new Set(allBlobs(arm64).map((b) => `blobs/sha256/${b.digest.slice(7)}`));
    const members = layoutMembers([
      { image: multi, annotations: { 'io.containerd.image.name': NAME } },
    ]).filter((m) => !armBlobs.has(m.name));
    partial = buildTar(members);
    source = await fresh();
    await importArchive(source, Readable.from([partial]), { platform: 'linux/amd64' });
  });

  it('export --all-platforms writes the index and amd64, warning that arm64 is skipped', async () => {
    const warnings: string[] = [];
    const tar = await exported(source, {
      allPlatforms: true,
      onWarning: (w) => warnings.push(w),
    });
    expect(warnings).toEqual([
      `image ${NAME}: manifest ${arm64.manifest.digest} (linux/arm64/v8) not stored: skipped`,
    ]);
    const back = await fresh();
    const [got] = await importArchive(back, Readable.from([tar]), { allPlatforms: true });
    expect(got!.image.target.digest).toBe(multi.index.digest);
    for (const b of allBlobs(amd64)) await back.content.info(b.digest);
    await expect(back.content.info(arm64.manifest.digest)).rejects.toMatchObject({
      code: 'NotFound',
    });
    // the index holds the platforms present, as a pull of those platforms labels it
    const labels = (await back.content.info(multi.index.digest)).labels;
    expect(labels['containerd.io/gc.ref.content.m.0']).toBe(amd64.manifest.digest);
    expect(labels['containerd.io/gc.ref.content.m.1']).toBeUndefined();
  });

  it('export of a platform not stored: NotFound naming the image and the manifest', async () => {
    const err = await exported(source, { platform: 'linux/arm64' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NotFound' });
    expect((err as Error).message).toBe(
      `image ${NAME}: manifest ${arm64.manifest.digest}: not in the content store`,
    );
  });

  it('import of a platform the archive lacks: NotFound naming the manifest and its index', async () => {
    const err = await importArchive(await fresh(), Readable.from([partial]), {
      name: 'partial.tar',
      platform: 'linux/arm64/v8',
    }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NotFound' });
    expect((err as Error).message).toBe(
      `partial.tar: manifest (linux/arm64/v8) of index ${multi.index.digest}: ${arm64.manifest.digest}: missing from the archive`,
    );
  });
});
