/**
 * Preload bundles for other machines: several `--platform`s keep the index (its digest) and
 * each platform asked; apply records the index and unpacks the platform asked for. A list
 * naming an image that does not exist fails before any bundle is written.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { openStrata } from '../../src/strata/index.js';
import { STRATA_BIN, strata } from '../fixtures/cli.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { buildImage, buildIndex, pushImage, type TestIndex } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';

const reason =
  missing({ commands: [REGISTRY_BIN] }) ?? (existsSync(STRATA_BIN) ? undefined : 'CLI not built');
const dir = await tempDir('strata-preload-platforms-');

async function ok(args: readonly string[], root: string) {
  const r = await strata(args, { root });
  expect(r.code, `strata ${args.join(' ')}: ${r.stderr}`).toBe(0);
  return r;
}

describe.skipIf(reason)(`preload bundles for several platforms${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let multi: TestIndex;
  const name = () => `${registry.host}/multi/app:v1`;

  beforeAll(async () => {
    registry = await startRegistry();
    multi = buildIndex([
      await buildImage({ layers: [{ files: { arch: 'amd64' } }] }),
      await buildImage({
        platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        layers: [{ files: { arch: 'arm64' } }],
      }),
      await buildImage({
        platform: { os: 'linux', architecture: 's390x' },
        layers: [{ files: { arch: 's390x' } }],
      }),
    ]);
    await pushImage(registry.url, 'multi/app', 'v1', multi);
  });

  it('--platform twice: the index and both platforms travel; apply unpacks the one asked', async () => {
    const list = join(dir, 'list.txt');
    await writeFile(list, `${name()}\n`);
    const bundle = join(dir, 'multi.tar');
    const source = join(dir, 'source');
    await ok(
      [
        'preload',
        'create',
        bundle,
        '--from',
        list,
        '--platform',
        'linux/amd64',
        '--platform',
        'linux/arm64/v8',
      ],
      source,
    );
    // the index holds both platforms fetched (each fetch labelled only its own), in index order
    const src = await openStrata({ root: source, namespace: 'default' });
    try {
      const labels = (await src.content.info(multi.index.digest)).labels;
      const held = Object.entries(labels).filter(([k]) => k.startsWith('containerd.io/gc.ref'));
      expect(Object.fromEntries(held)).toEqual({
        'containerd.io/gc.ref.content.m.0': multi.images[0]!.manifest.digest,
        'containerd.io/gc.ref.content.m.1': multi.images[1]!.manifest.digest,
      });
    } finally {
      src.close();
    }
    const target = join(dir, 'target');
    const r = await ok(
      ['--json', 'preload', 'apply', bundle, '--platform', 'linux/arm64/v8'],
      target,
    );
    const [got] = JSON.parse(r.stdout) as {
      name: string;
      target: { digest: string };
      platform: { architecture: string };
    }[];
    expect(got).toMatchObject({
      name: name(),
      target: { digest: multi.index.digest },
      platform: { architecture: 'arm64' },
    });
    const s = await openStrata({ root: target, namespace: 'default' });
    try {
      const has = async (d: string) =>
        (await s.content.info(d as `sha256:${string}`).catch(() => undefined)) !== undefined;
      const [amd64, arm64, s390x] = multi.images;
      expect(await has(amd64!.layers[0]!.digest)).toBe(true);
      expect(await has(arm64!.layers[0]!.digest)).toBe(true);
      expect(await has(s390x!.manifest.digest)).toBe(false);
    } finally {
      s.close();
    }
  });

  const notAmd64 = process.arch === 'x64' ? undefined : 'arm64 is this host, not another platform';
  it.skipIf(notAmd64)(
    `a bundle for one other platform unpacks as that platform without --platform${skipNote(notAmd64)}`,
    async () => {
      const list = join(dir, 'arm-list.txt');
      await writeFile(list, `${name()}\n`);
      const bundle = join(dir, 'arm.tar');
      await ok(
        ['preload', 'create', bundle, '--from', list, '--platform', 'linux/arm64/v8'],
        join(dir, 'arm-source'),
      );
      const r = await ok(['--json', 'preload', 'apply', bundle], join(dir, 'arm-target'));
      expect(JSON.parse(r.stdout)).toMatchObject([
        { name: name(), platform: { architecture: 'arm64' }, layersUnpacked: 1 },
      ]);
      // a plain import is stricter: this host's platform is missing from the archive
      const strict = await strata(['import', '--unpack', bundle], {
        root: join(dir, 'arm-strict'),
      });
      expect(strict.code).toBe(1);
      expect(strict.stderr).toMatch(
        /arm\.tar: manifest \(linux\/amd64\) of index sha256:\w+: sha256:\w+: missing from the archive\n$/,
      );
    },
  );

  it('create - | apply -: the bundle through a pipe', async () => {
    const list = join(dir, 'pipe-list.txt');
    await writeFile(list, `# piped\n${name()}\n`);
    const created = await strata(['preload', 'create', '-', '--from', list], {
      root: join(dir, 'pipe-source'),
    });
    expect(created.code, created.stderr).toBe(0);
    expect(created.bytes.subarray(0, 10).toString()).toBe('oci-layout');
    const applied = await strata(['--json', 'preload', 'apply', '-'], {
      root: join(dir, 'pipe-target'),
      input: created.bytes,
    });
    expect(applied.code, applied.stderr).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject([
      { name: name(), target: { digest: multi.index.digest }, status: 'created' },
    ]);
  });

  it('a list naming an image that does not exist: a clear error naming it, no bundle', async () => {
    const list = join(dir, 'bad-list.txt');
    await writeFile(list, `${name()}\n${registry.host}/multi/nothing:v1  # a typo\n`);
    const bundle = join(dir, 'never.tar');
    const r = await strata(['preload', 'create', bundle, '--from', list], {
      root: join(dir, 'source'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\nstrata: \S*multi\/nothing:v1: not found on \S+\n$/);
    expect(existsSync(bundle)).toBe(false);
  });

  it('a malformed list line: the line number', async () => {
    const list = join(dir, 'malformed.txt');
    await writeFile(list, `# ok\n${name()} extra-word\n`);
    const r = await strata(['preload', 'create', join(dir, 'x.tar'), '--from', list], {
      root: join(dir, 'source'),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^strata: \S+malformed\.txt:2: one reference per line/);
  });
});
