/**
 * Archives other tools write, imported by strata: skopeo's oci-archive, oci directory and
 * docker-archive (also gzip- and zstd-compressed), and a layout umoci built. Every import
 * must keep the writer's digests (manifest, config, layers); for docker-archive, where
 * skopeo writes uncompressed layers and a manifest of its own, the layers are the diffIDs
 * and the config is the registry's.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStrata } from '../../src/strata/index.js';
import { diffTrees } from '../apply/tree.js';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { isRoot, missing, skipNote, tempDir } from '../fixtures/env.js';
import {
  buildImage,
  buildIndex,
  pushImage,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { comparable, mountedTree } from '../image/fixtures.js';

const reason =
  missing({ commands: [REGISTRY_BIN, 'skopeo', 'umoci', 'gzip', 'zstd'] }) ??
  (existsSync(STRATA_BIN) ? undefined : 'CLI not built');

interface Imported {
  readonly name: string;
  readonly target: { digest: string; mediaType: string };
  readonly status: string;
  readonly chainId?: string;
}

/** `strata import ARGS --json` into `root`; the records it prints. */
async function importJson(root: string, args: readonly string[]): Promise<Imported[]> {
  const r = await strata(['--json', 'import', ...args], { root });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Imported[];
}

function skopeo(args: readonly string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** The blobs of `digests` that `root` holds, in namespace default. */
async function stored(root: string, digests: readonly string[]): Promise<string[]> {
  const s = await openStrata({ root, namespace: 'default' });
  try {
    const found: string[] = [];
    for (const d of digests) {
      const info = await s.content.info(d as `sha256:${string}`).catch(() => undefined);
      if (info) found.push(d);
    }
    return found;
  } finally {
    s.close();
  }
}

const dir = await tempDir('strata-interop-import-');

describe.skipIf(reason)(`archives from skopeo and umoci, imported${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let image: TestImage;
  let multi: TestIndex;
  let src: string;

  beforeAll(async () => {
    registry = await startRegistry();
    image = await buildImage({
      layers: [
        { files: { 'etc/os-release': 'ID=interop\n', 'bin/sh': '#!/bin/true\n' } },
        { files: { 'app/main.js': 'console.log(1)\n' }, randomKiB: 512 },
      ],
    });
    multi = buildIndex([
      await buildImage({ layers: [{ files: { arch: 'amd64' } }] }),
      await buildImage({
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        layers: [{ files: { arch: 'arm64' } }],
      }),
    ]);
    await pushImage(registry.url, 'interop/app', 'v1', image);
    await pushImage(registry.url, 'interop/multi', 'v1', multi);
    src = `docker://${registry.host}/interop/app:v1`;
  });

  const imageDigests = () => [
    image.manifest.digest,
    image.config.digest,
    ...image.layers.map((l) => l.digest),
  ];

  it('skopeo oci-archive: same manifest, config and layer digests', async () => {
    const tar = join(dir, 'skopeo-oci.tar');
    skopeo(['copy', '--src-tls-verify=false', src, `oci-archive:${tar}:v1`]);
    const root = join(dir, 'root-oci-archive');
    const [got] = await importJson(root, [tar, '--base-name', `${registry.host}/interop/app`]);
    expect(got).toMatchObject({
      name: `${registry.host}/interop/app:v1`,
      target: { digest: image.manifest.digest },
      status: 'created',
    });
    expect(await stored(root, imageDigests())).toEqual(imageDigests());
  });

  it('an archive with a bare tag and no --base-name: a clear error, nothing recorded', async () => {
    const tar = join(dir, 'skopeo-oci.tar');
    const root = join(dir, 'root-no-base');
    const r = await strata(['import', tar], { root });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/is named by a tag only \("v1"\): give a base name \(--base-name\)/);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('strata:'));
    expect(errors).toHaveLength(1);
    expect((await strata(['images', 'ls', '-q'], { root })).stdout).toBe('');
  });

  it('skopeo oci directory, with a full name as ref name, unpacked', async () => {
    const layout = join(dir, 'skopeo-oci-dir');
    const name = `${registry.host}/interop/app:v1`;
    skopeo(['copy', '--src-tls-verify=false', src, `oci:${layout}:${name}`]);
    const root = join(dir, 'root-oci-dir');
    const [got] = await importJson(root, [layout, '--unpack']);
    expect(got).toMatchObject({ name, target: { digest: image.manifest.digest } });
    expect(got!.chainId).toMatch(/^sha256:/);
    expect(await stored(root, imageDigests())).toEqual(imageDigests());
  });

  it('skopeo multi-platform index (--all) to oci-archive: the index digest, every platform', async () => {
    const tar = join(dir, 'skopeo-multi.tar');
    skopeo([
      'copy',
      '--all',
      '--src-tls-verify=false',
      `docker://${registry.host}/interop/multi:v1`,
      `oci-archive:${tar}:${registry.host}/interop/multi:v1`,
    ]);
    const root = join(dir, 'root-multi');
    const [got] = await importJson(root, [tar, '--all-platforms']);
    expect(got!.target.digest).toBe(multi.index.digest);
    const all = [
      multi.index.digest,
      ...multi.images.flatMap((i) => [i.manifest.digest, i.config.digest, i.layers[0]!.digest]),
    ];
    expect(await stored(root, all)).toEqual(all);
  });

  describe('skopeo docker-archive', () => {
    let tar: string;
    const name = () => `${registry.host}/interop/app:v1`;

    beforeAll(() => {
      tar = join(dir, 'skopeo-docker.tar');
      skopeo(['copy', '--src-tls-verify=false', src, `docker-archive:${tar}:${name()}`]);
    });

    const check = async (file: string, root: string) => {
      const [got] = await importJson(root, [file, '--unpack']);
      expect(got).toMatchObject({ name: name(), status: 'created' });
      // skopeo stores uncompressed layers (their digests are the diffIDs) and the config as is.
      const s = await openStrata({ root, namespace: 'default' });
      try {
        const { readBlob } = await import('../../src/content/helpers.js');
        const manifest = JSON.parse(
          (
            await readBlob(s.content, got!.target.digest as `sha256:${string}`, {
              maxSize: 1 << 20,
            })
          ).toString(),
        ) as { config: { digest: string }; layers: { digest: string; mediaType: string }[] };
        expect(manifest.config.digest).toBe(image.config.digest);
        expect(manifest.layers.map((l) => l.digest)).toEqual(image.diffIds);
        expect(manifest.layers.map((l) => l.mediaType)).toEqual(
          image.diffIds.map(() => 'application/vnd.docker.image.rootfs.diff.tar'),
        );
      } finally {
        s.close();
      }
      // What skopeo itself reads from its archive: the same config and layers.
      const inspected = JSON.parse(skopeo(['inspect', `docker-archive:${tar}`])) as {
        Layers: string[];
      };
      expect(inspected.Layers).toEqual(image.diffIds);
      return got!;
    };

    it('plain tar', async () => {
      await check(tar, join(dir, 'root-docker'));
    });

    it('gzip-compressed', async () => {
      const gz = `${tar}.gz`;
      execFileSync('sh', ['-c', `gzip -c '${tar}' > '${gz}'`]);
      await check(gz, join(dir, 'root-docker-gz'));
    });

    it('zstd-compressed, read from stdin', async () => {
      const zst = `${tar}.zst`;
      execFileSync('zstd', ['-q', '-f', tar, '-o', zst]);
      const root = join(dir, 'root-docker-zst');
      const r = await strata(['--json', 'import', '-'], { root, inputFile: zst });
      expect(r.code, r.stderr).toBe(0);
      const [got] = JSON.parse(r.stdout) as Imported[];
      expect(got!.name).toBe(name());
    });
  });

  it('a gzip-compressed oci-archive', async () => {
    const tar = join(dir, 'skopeo-oci.tar');
    execFileSync('sh', ['-c', `gzip -c '${tar}' > '${tar}.gz'`]);
    const root = join(dir, 'root-oci-gz');
    const [got] = await importJson(root, [
      `${tar}.gz`,
      '--base-name',
      `${registry.host}/interop/app`,
    ]);
    expect(got!.target.digest).toBe(image.manifest.digest);
    expect(await stored(root, imageDigests())).toEqual(imageDigests());
  });

  it.skipIf(!isRoot)(
    `a layout umoci built (init, new, unpack, repack): its digests, its rootfs${skipNote(isRoot ? undefined : 'needs root to mount')}`,
    async () => {
      const layout = join(dir, 'umoci');
      const bundle = join(dir, 'umoci-bundle');
      const umoci = (args: string[]) =>
        execFileSync('umoci', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      umoci(['init', '--layout', layout]);
      umoci(['new', '--image', `${layout}:v1`]);
      umoci(['unpack', '--image', `${layout}:v1`, bundle]);
      execFileSync('sh', [
        '-c',
        `mkdir -p '${bundle}/rootfs/etc' && echo umoci > '${bundle}/rootfs/etc/made-by' && ln -s made-by '${bundle}/rootfs/etc/link'`,
      ]);
      umoci(['repack', '--image', `${layout}:v1`, bundle]);
      const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
        manifests: { digest: string }[];
      };
      const root = join(dir, 'root-umoci');
      const [got] = await importJson(root, [
        layout,
        '--base-name',
        'example.com/umoci/app',
        '--unpack',
      ]);
      expect(got).toMatchObject({
        name: 'example.com/umoci/app:v1',
        target: { digest: index.manifests[0]!.digest },
      });
      expect(got!.chainId).toMatch(/^sha256:/);
      // umoci's own unpack of the same image is the oracle for the rootfs.
      umoci(['unpack', '--image', `${layout}:v1`, join(dir, 'umoci-oracle')]);
      const want = comparable(join(dir, 'umoci-oracle', 'rootfs'));
      const s = await openStrata({ root, namespace: 'default' });
      try {
        const tree = await mountedTree(s, 'example.com/umoci/app:v1', 'overlay', dir);
        expect(diffTrees(want, tree)).toEqual([]);
      } finally {
        s.close();
      }
    },
  );
});
