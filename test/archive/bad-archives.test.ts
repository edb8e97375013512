/**
 * Broken and malicious archives, built member by member: every one is refused with a clear
 * error (its code, and a message naming the archive and the member or blob at fault), and
 * nothing is half-imported: no image recorded, no GC label set, no ingest left from a blob
 * whose bytes were wrong.
 */
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { importArchive } from '../../src/archive/index.js';
import { type ErrorCode, isCode } from '../../src/errors.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';
import {
  blob,
  buildImage,
  describe as desc,
  nestedIndex,
  sha256,
  type TestImage,
} from '../fixtures/images.js';
import { buildTar, type TarEntrySpec } from '../fixtures/tar-builder.js';
import { imageOf } from '../image/fixtures.js';
import { indexJson, LAYOUT, layoutMembers } from './fixtures.js';

const NAMED = { 'io.containerd.image.name': 'example.com/bad/app:v1' };

let image: TestImage;
let dir: string;
let n = 0;

beforeAll(async () => {
  dir = await tempDir('strata-bad-archives-');
  image = await buildImage({
    layers: [
      { files: { 'etc/os-release': 'ID=test\n' } },
      { files: { app: 'run' }, randomKiB: 64 },
    ],
  });
});

const fresh = () => openStrata({ root: `${dir}/root${n++}`, namespace: 'test' });
const hex = (d: string) => d.slice('sha256:'.length);
const layout = (members: TarEntrySpec[]) => Readable.from([buildTar(members)]);
const good = () => layoutMembers([{ image, annotations: NAMED }]);
const without = (digest: string) => good().filter((m) => m.name !== `blobs/sha256/${hex(digest)}`);

/** The import fails with `code` and a message matching `message`; nothing is recorded. */
async function refused(
  source: Readable | Buffer,
  code: ErrorCode,
  message: RegExp,
  options: Parameters<typeof importArchive>[2] = {},
): Promise<Strata> {
  const strata = await fresh();
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const err = await importArchive(strata, input, { name: 'bad.tar', ...options }).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the import must fail').toBeDefined();
  expect(isCode(err, code), `${code}: ${String(err)}`).toBe(true);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).toMatch(/^bad\.tar: /);
  expect(strata.images.list()).toEqual([]);
  const labelled: string[] = [];
  await strata.content.walk((info) => {
    if (Object.keys(info.labels).some((k) => k.startsWith('containerd.io/gc.ref'))) {
      labelled.push(info.digest);
    }
  });
  expect(labelled).toEqual([]);
  return strata;
}

describe('bad OCI layout archives', () => {
  it('imports the good archive these cases damage', async () => {
    const strata = await fresh();
    const [got] = await importArchive(strata, layout(good()));
    expect(got!.image.name).toBe('example.com/bad/app:v1');
    expect(got!.image.target.digest).toBe(image.manifest.digest);
  });

  it('a missing layer', async () => {
    await refused(
      layout(without(image.layers[1]!.digest)),
      'NotFound',
      new RegExp(`layer ${image.layers[1]!.digest}: missing from the archive`),
    );
  });

  it('a missing config', async () => {
    await refused(layout(without(image.config.digest)), 'NotFound', /config sha256:.*missing/);
  });

  it('a missing index.json', async () => {
    const members = good().filter((m) => m.name !== 'index.json');
    await refused(layout(members), 'InvalidArgument', /index\.json missing/);
  });

  it('a blob whose bytes do not match its name, and no ingest kept of it', async () => {
    const layer = image.layers[0]!;
    const members = good().map((m) =>
      m.name === `blobs/sha256/${hex(layer.digest)}`
        ? { ...m, content: Buffer.from(layer.bytes).fill(0x55, 20, 21) }
        : m,
    );
    const strata = await refused(
      layout(members),
      'FailedPrecondition',
      new RegExp(`member blobs/sha256/${hex(layer.digest)}: digest mismatch: got sha256:`),
    );
    expect(await strata.content.listStatuses()).toEqual([]);
  });

  it('a descriptor whose size is not the blob size', async () => {
    const layer = image.layers[0]!;
    const manifest = blob(
      image.manifest.mediaType,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: image.manifest.mediaType,
          config: desc(image.config),
          layers: [{ ...desc(layer), size: layer.size + 1 }, desc(image.layers[1]!)],
        }),
      ),
    );
    const members: TarEntrySpec[] = [
      ...good().filter(
        (m) => !m.name.endsWith(hex(image.manifest.digest)) && m.name !== 'index.json',
      ),
      { name: `blobs/sha256/${hex(manifest.digest)}`, content: manifest.bytes },
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [{ ...desc(manifest), annotations: NAMED }],
        }),
      },
    ];
    await refused(
      layout(members),
      'InvalidArgument',
      /layer sha256:\w+: size \d+, descriptor says/,
    );
  });

  it.each([
    ['..', '../evil', /member "\.\.\/evil": "\.\." in name/],
    ['.. inside', 'blobs/sha256/../../../etc/passwd', /"\.\." in name/],
    ['an absolute name', '/etc/cron.d/evil', /member "\/etc\/cron\.d\/evil": absolute name/],
    [
      'a name under blobs/ that is not a digest',
      'blobs/sha256/not-a-digest',
      /not blobs\/<algorithm>\/<digest>/,
    ],
  ])('path traversal: %s', async (_, name, message) => {
    await refused(layout([{ name, content: 'x' }, ...good()]), 'InvalidArgument', message);
  });

  it('an index.json over 20 MiB', async () => {
    const huge = ' '.repeat(20 * 1024 * 1024 + 1);
    const members = good().map((m) => (m.name === 'index.json' ? { ...m, content: huge } : m));
    await refused(layout(members), 'InvalidArgument', /index\.json: larger than 20971520 bytes/);
  });

  it('a second index.json', async () => {
    const members = [...good(), { name: './index.json', content: indexJson([{ image }]) }];
    await refused(layout(members), 'InvalidArgument', /member index\.json: appears twice/);
  });

  it('an unsupported layout version', async () => {
    const members = good().map((m) =>
      m.name === 'oci-layout' ? { ...m, content: '{"imageLayoutVersion":"2.0.0"}' } : m,
    );
    await refused(layout(members), 'FailedPrecondition', /unsupported layout version 2\.0\.0/);
  });

  it('a manifest that is not JSON (under its own digest)', async () => {
    const junk = blob('application/vnd.oci.image.manifest.v1+json', Buffer.from('{"schemaVer'));
    const members: TarEntrySpec[] = [
      { name: 'oci-layout', content: LAYOUT },
      { name: `blobs/sha256/${hex(junk.digest)}`, content: junk.bytes },
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [{ ...desc(junk), annotations: NAMED }],
        }),
      },
    ];
    await refused(layout(members), 'InvalidArgument', /manifest sha256:\w+: invalid JSON/);
  });

  it('indexes nested 5 deep (with --unpack): refused naming the index too deep', async () => {
    const chain = [nestedIndex(image.manifest)];
    for (let i = 1; i < 5; i++) chain.push(nestedIndex(chain[i - 1]!));
    const members: TarEntrySpec[] = [
      { name: 'oci-layout', content: LAYOUT },
      ...chain.map((b) => ({ name: `blobs/sha256/${hex(b.digest)}`, content: b.bytes })),
      ...good().filter((m) => m.name.startsWith('blobs/')),
      {
        name: 'index.json',
        content: JSON.stringify({
          schemaVersion: 2,
          manifests: [{ ...desc(chain[4]!), annotations: NAMED }],
        }),
      },
    ];
    await refused(
      layout(members),
      'InvalidArgument',
      new RegExp(`^bad\\.tar: index ${chain[0]!.digest}: nested too deeply$`),
      { unpack: true },
    );
  });

  it('an image named by a tag only, without a base name', async () => {
    const members = layoutMembers([
      { image, annotations: { 'org.opencontainers.image.ref.name': 'v1' } },
    ]);
    await refused(layout(members), 'InvalidArgument', /named by a tag only \("v1"\).*--base-name/);
  });

  it('with --unpack, a layer that is not the diffID its config says: no image, no labels', async () => {
    const wrong = imageOf([[{ name: 'a', content: 'a' }]], { diffIds: [sha256(Buffer.from('x'))] });
    const strata = await refused(
      layout(layoutMembers([{ image: wrong, annotations: NAMED }], 'index-first')),
      'FailedPrecondition',
      /diffID/,
      { unpack: true },
    );
    const sn = await strata.snapshotter();
    const committed: string[] = [];
    await sn.walk((info) => {
      if (info.kind === 'committed') committed.push(info.name);
    });
    expect(committed).toEqual([]);
  });

  it('an image for another platform only', async () => {
    await refused(layout(good()), 'NotFound', /no image for linux\/arm64/, {
      platform: 'linux/arm64',
    });
  });
});

describe('truncated and corrupt archives', () => {
  let tar: Buffer;
  beforeAll(() => {
    tar = buildTar(good());
  });

  it('cut inside a member', async () => {
    await refused(tar.subarray(0, Math.floor(tar.length / 2)), 'InvalidArgument', /truncated/);
  });

  it('cut between two members (no end-of-archive marker)', async () => {
    const whole = buildTar(good(), { end: 0 });
    await refused(whole, 'InvalidArgument', /truncated: no end-of-archive marker/);
  });

  it('a gzip archive cut short', async () => {
    const gz = gzipSync(tar);
    await refused(gz.subarray(0, gz.length - 100), 'InvalidArgument', /gzip/);
  });

  it('bytes that are not a tar', async () => {
    const noise = Buffer.alloc(4096, 0x41);
    await refused(noise, 'InvalidArgument', /tar at offset 0/);
  });

  it('an empty tar', async () => {
    await refused(buildTar([]), 'InvalidArgument', /not an image archive/);
  });

  it('a stream that fails midway: the error is the stream’s, nothing recorded', async () => {
    const strata = await fresh();
    const failing = new Readable({
      read() {
        this.push(tar.subarray(0, 4096));
        this.destroy(new Error('connection reset'));
      },
    });
    await expect(importArchive(strata, failing)).rejects.toThrow(/connection reset/);
    expect(strata.images.list()).toEqual([]);
  });
});

describe('bad docker-save archives', () => {
  let layerTar: Buffer;
  let diffId: string;
  let config: string;
  beforeAll(async () => {
    layerTar = buildTar([{ name: 'hello', content: 'hi\n' }]);
    diffId = sha256(layerTar);
    config = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [diffId] },
    });
  });
  const save = (layers: string[], extra: TarEntrySpec[] = []) =>
    buildTar([
      { name: `${hex(sha256(Buffer.from(config)))}.json`, content: config },
      { name: 'aaa/layer.tar', content: layerTar },
      ...extra,
      {
        name: 'manifest.json',
        content: JSON.stringify([
          {
            Config: `${hex(sha256(Buffer.from(config)))}.json`,
            RepoTags: ['bad/app:v1'],
            Layers: layers,
          },
        ]),
      },
    ]);

  it('imports the good archive (a layer through a symlink, as docker save links shared layers)', async () => {
    const strata = await fresh();
    const link: TarEntrySpec = {
      name: 'bbb/layer.tar',
      type: 'symlink',
      linkname: '../aaa/layer.tar',
    };
    const [got] = await importArchive(strata, Readable.from([save(['bbb/layer.tar'], [link])]));
    expect(got!.image.name).toBe('docker.io/bad/app:v1');
  });

  it('a layer missing', async () => {
    await refused(save(['ccc/layer.tar']), 'NotFound', /member "ccc\/layer\.tar": missing/);
  });

  it.each([
    [
      'climbing out',
      '../../../etc/passwd',
      /symlink "bbb\/layer\.tar" -> "\.\.\/\.\.\/\.\.\/etc\/passwd": target outside the archive/,
    ],
    ['absolute', '/etc/passwd', /target outside the archive/],
  ])('a symlink %s', async (_, linkname, message) => {
    const link: TarEntrySpec = { name: 'bbb/layer.tar', type: 'symlink', linkname };
    await refused(save(['bbb/layer.tar'], [link]), 'InvalidArgument', message);
  });

  it('a symlink loop', async () => {
    const loop: TarEntrySpec[] = [
      { name: 'x/layer.tar', type: 'symlink', linkname: '../y/layer.tar' },
      { name: 'y/layer.tar', type: 'symlink', linkname: '../x/layer.tar' },
    ];
    await refused(save(['x/layer.tar'], loop), 'InvalidArgument', /too many links/);
  });

  it('a Layers path with ..', async () => {
    await refused(save(['../aaa/layer.tar']), 'InvalidArgument', /"\.\." in name/);
  });

  it('an uncompressed layer that is not its diffID', async () => {
    const other = buildTar([{ name: 'other', content: 'x' }]);
    const members: TarEntrySpec[] = [{ name: 'ddd/layer.tar', content: other }];
    await refused(save(['ddd/layer.tar'], members), 'InvalidArgument', /is not its diffID/);
  });

  it('a manifest.json over 20 MiB', async () => {
    const tar = buildTar([{ name: 'manifest.json', content: ' '.repeat(20 * 1024 * 1024 + 1) }]);
    await refused(tar, 'InvalidArgument', /manifest\.json: larger than/);
  });
});
