/**
 * How an import unpacks: in one pass when the archive names its images before their
 * layers (strata's exports, layout directories), from the content store after the read when
 * it names them last (skopeo's, GNU tar's order); the same snapshots either way. And bad
 * layout directories (a blob symlinked outside, a blob with the wrong bytes) and a bad
 * archive on the command line: one clear line, exit 1, no image recorded.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { exportImages, importArchive } from '../../src/archive/index.js';
import { isCode } from '../../src/errors.js';
import type { ProgressEvent } from '../../src/progress.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { strata as cli } from '../fixtures/cli.js';
import { tempDir } from '../fixtures/env.js';
import { buildImage, type TestImage } from '../fixtures/images.js';
import { buildTar } from '../fixtures/tar-builder.js';
import { layoutMembers, writeLayout } from './fixtures.js';

const NAME = 'example.com/one/pass:v1';
const NAMED = { 'io.containerd.image.name': NAME };
const dir = await tempDir('strata-one-pass-');
let n = 0;
const fresh = () => openStrata({ root: join(dir, `root${n++}`), namespace: 'default' });

/** The phases of `id`'s events, in order. */
const phasesOf = (events: readonly ProgressEvent[], id: string) =>
  events.filter((e) => e.id === id).map((e) => e.phase);

describe('one-pass unpack during an import', () => {
  let image: TestImage;
  let source: Strata;
  let exported: Buffer;

  beforeAll(async () => {
    image = await buildImage({
      layers: [{ files: { 'etc/base': 'base\n' } }, { files: { app: 'app\n' }, randomKiB: 4096 }],
    });
    source = await fresh();
    await importArchive(
      source,
      Readable.from([buildTar(layoutMembers([{ image, annotations: NAMED }]))]),
    );
    const chunks: Buffer[] = [];
    const { PassThrough } = await import('node:stream');
    const out = new PassThrough();
    out.on('data', (c: Buffer) => chunks.push(c));
    await exportImages(source, [NAME], out);
    exported = Buffer.concat(chunks);
  });

  it("strata's export (index.json first): layers unpack while they are read", async () => {
    const strata = await fresh();
    const events: ProgressEvent[] = [];
    const [got] = await importArchive(strata, Readable.from([exported]), {
      unpack: true,
      onProgress: (e) => events.push(e),
    });
    const big = phasesOf(events, image.layers[1]!.digest);
    expect(big.indexOf('unpacking')).toBeGreaterThan(-1);
    expect(big.indexOf('unpacking')).toBeLessThan(big.lastIndexOf('done'));
    expect(got!.layersUnpacked).toBe(2);
    strata.close();
  });

  it('index.json last (as skopeo writes it): unpacked from the store, the same snapshot', async () => {
    const strata = await fresh();
    const events: ProgressEvent[] = [];
    const tar = buildTar(layoutMembers([{ image, annotations: NAMED }], 'index-last'));
    const [got] = await importArchive(strata, Readable.from([tar]), {
      unpack: true,
      onProgress: (e) => events.push(e),
    });
    const big = phasesOf(events, image.layers[1]!.digest);
    expect(big.indexOf('unpacking')).toBeGreaterThan(big.indexOf('done'));
    const [again] = await importArchive(await fresh(), Readable.from([exported]), { unpack: true });
    expect(got!.chainId).toBe(again!.chainId);
    strata.close();
  });

  it('two images sharing their base layer: both unpacked, the base applied once', async () => {
    const base = { files: { 'etc/base': 'base\n' } };
    const one = await buildImage({ layers: [base, { files: { one: '1' } }] });
    const two = await buildImage({ layers: [base, { files: { two: '2' } }] });
    const tar = buildTar(
      layoutMembers(
        [
          { image: one, annotations: { 'io.containerd.image.name': 'example.com/one:1' } },
          { image: two, annotations: { 'io.containerd.image.name': 'example.com/two:1' } },
        ],
        'index-first',
      ),
    );
    const strata = await fresh();
    const events: ProgressEvent[] = [];
    const got = await importArchive(strata, Readable.from([tar]), {
      unpack: true,
      onProgress: (e) => events.push(e),
    });
    // three layers applied for four: the shared base once
    expect(got.map((i) => i.layersUnpacked).reduce((a, b) => a! + b!, 0)).toBe(3);
    expect(
      events.filter((e) => e.phase === 'unpacking' && e.id === one.layers[0]!.digest).length,
    ).toBeLessThanOrEqual(1);
    const sn = await strata.snapshotter();
    const committed: string[] = [];
    await sn.walk((info) => {
      if (info.kind === 'committed') committed.push(info.name);
    });
    expect(committed).toHaveLength(3);
    strata.close();
  });

  it('a layout directory: layers unpack as they are read', async () => {
    const layout = writeLayout(join(dir, 'layout'), [{ image, annotations: NAMED }]);
    const strata = await fresh();
    const events: ProgressEvent[] = [];
    const [got] = await importArchive(strata, layout, {
      unpack: true,
      onProgress: (e) => events.push(e),
    });
    const big = phasesOf(events, image.layers[1]!.digest);
    expect(big.indexOf('unpacking')).toBeLessThan(big.lastIndexOf('done'));
    expect(got!.image.target.digest).toBe(image.manifest.digest);
    strata.close();
  });
});

describe('bad layout directories', () => {
  let image: TestImage;
  beforeAll(async () => {
    image = await buildImage({ layers: [{ files: { a: 'a' } }] });
  });

  const refused = async (layout: string, code: string, message: RegExp) => {
    const strata = await fresh();
    const err = await importArchive(strata, layout, { unpack: true }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCode(err, code as never), String(err)).toBe(true);
    expect((err as Error).message).toMatch(message);
    expect(strata.images.list()).toEqual([]);
    strata.close();
  };

  it('a blob symlinked to a file outside the directory', async () => {
    const layout = writeLayout(join(dir, 'escape'), [{ image, annotations: NAMED }]);
    const outside = join(dir, 'outside-secret');
    writeFileSync(outside, image.layers[0]!.bytes);
    const blob = join(layout, 'blobs', 'sha256', image.layers[0]!.digest.slice(7));
    const { rmSync } = await import('node:fs');
    rmSync(blob);
    symlinkSync(outside, blob);
    await refused(layout, 'InvalidArgument', /resolves outside the directory/);
  });

  it('a blob whose bytes are not its digest', async () => {
    const layout = writeLayout(join(dir, 'corrupt'), [{ image, annotations: NAMED }]);
    const blob = join(layout, 'blobs', 'sha256', image.layers[0]!.digest.slice(7));
    const bytes = Buffer.from(image.layers[0]!.bytes);
    bytes[bytes.length - 1]! ^= 0xff;
    writeFileSync(blob, bytes);
    await refused(layout, 'FailedPrecondition', /digest mismatch/);
  });

  it('a directory that is not a layout', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    await refused(empty, 'InvalidArgument', /not an image archive/);
  });
});

describe('bad archives on the command line', () => {
  it('one line naming the archive and the member, exit 1, nothing recorded', async () => {
    const image = await buildImage({ layers: [{ files: { a: 'a' } }] });
    const file = join(dir, 'evil.tar');
    writeFileSync(
      file,
      buildTar([
        { name: '../../etc/evil', content: 'x' },
        ...layoutMembers([{ image, annotations: NAMED }]),
      ]),
    );
    const root = join(dir, 'cli-root');
    const r = await cli(['import', file], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /^strata: \S+evil\.tar: member "\.\.\/\.\.\/etc\/evil": "\.\." in name\n$/m,
    );
    expect(r.stderr.split('\n').filter((l) => l.startsWith('strata:'))).toHaveLength(1);
    expect((await cli(['images', 'ls', '-q'], { root })).stdout).toBe('');
  });
});
