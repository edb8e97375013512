import { beforeAll, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/content/index.js';
import { isCode } from '../../src/errors.js';
import { fetchImage } from '../../src/fetch/index.js';
import type { ProgressEvent } from '../../src/progress.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import {
  allBlobs,
  type Blob,
  buildImage,
  buildIndex,
  nestedIndex,
  pushImage,
  putManifest,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { pull } from './pull-only.js';

const reason = missing({ commands: [REGISTRY_BIN] });

describe.skipIf(reason)(`pull from a real registry${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let single: TestImage;
  let multi: TestIndex;
  let strata: Strata;

  beforeAll(async () => {
    registry = await startRegistry();
    single = await buildImage({
      docker: true,
      layers: [
        { files: { 'etc/os-release': 'ID=test\n' } },
        { files: { 'app/main.js': 'console.log(1)' }, randomKiB: 64 },
        { files: { 'app/data': 'x' } },
      ],
    });
    const amd64 = await buildImage({
      platform: { os: 'linux', architecture: 'amd64' },
      layers: [{ files: { arch: 'amd64' } }],
    });
    const arm64 = await buildImage({
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
      layers: [{ files: { arch: 'arm64' } }],
    });
    const armv7 = await buildImage({
      platform: { os: 'linux', architecture: 'arm', variant: 'v7' },
      layers: [{ files: { arch: 'armv7' } }],
    });
    multi = buildIndex([amd64, arm64, armv7]);
    await pushImage(registry.url, 'test/single', 'v1', single);
    await pushImage(registry.url, 'test/multi', 'latest', multi);
    strata = await openStrata({ root: await tempDir(), namespace: 'pull-test' });
  });

  const expectStored = async (s: Strata, blobs: readonly { digest: string; bytes: Buffer }[]) => {
    for (const b of blobs) {
      const stored = await readBlob(s.content, b.digest as `sha256:${string}`, {
        maxSize: 1 << 24,
      });
      expect(stored.equals(b.bytes), b.digest).toBe(true);
    }
  };

  it('pulls a multi-layer image by tag: blobs verified, labels, image record', async () => {
    const events: ProgressEvent[] = [];
    const image = await pull(strata, `${registry.host}/test/single:v1`, {
      onProgress: (e) => events.push(e),
    });
    expect(image.name).toBe(`${registry.host}/test/single:v1`);
    expect(image.target).toMatchObject({
      digest: single.manifest.digest,
      size: single.manifest.size,
      mediaType: single.manifest.mediaType,
    });
    await expectStored(strata, allBlobs(single));
    const manifestInfo = await strata.content.info(single.manifest.digest);
    expect(manifestInfo.labels['containerd.io/gc.ref.content.config']).toBe(single.config.digest);
    for (const [i, l] of single.layers.entries()) {
      expect(manifestInfo.labels[`containerd.io/gc.ref.content.l.${i}`]).toBe(l.digest);
    }
    for (const b of allBlobs(single)) {
      const info = await strata.content.info(b.digest);
      expect(info.labels[`containerd.io/distribution.source.${registry.host}`]).toBe('test/single');
    }
    expect(strata.images.get(image.name).target.digest).toBe(single.manifest.digest);
    const done = events.filter((e) => e.phase === 'done').map((e) => e.id);
    expect(new Set(done)).toEqual(new Set(allBlobs(single).map((b) => b.digest)));
    expect(events[0]).toMatchObject({ phase: 'resolving' });
    expect(
      events.some((e) => e.phase === 'downloading' && e.total === single.layers[1]!.size),
    ).toBe(true);
  });

  it('pulls again as "exists" without downloading', async () => {
    const events: ProgressEvent[] = [];
    await pull(strata, `${registry.host}/test/single:v1`, { onProgress: (e) => events.push(e) });
    expect(events.filter((e) => e.phase === 'downloading')).toEqual([]);
    expect(events.filter((e) => e.phase === 'exists').length).toBe(single.layers.length + 1);
  });

  it('pulls by digest and names the image name@digest', async () => {
    const other = await openStrata({ root: await tempDir(), namespace: 'bydigest' });
    const ref = `${registry.host}/test/single@${single.manifest.digest}`;
    const image = await pull(other, ref);
    expect(image.name).toBe(ref);
    await expectStored(other, allBlobs(single));
    const tagged = await pull(other, `${registry.host}/test/single:v1@${single.manifest.digest}`);
    expect(tagged.name).toBe(`${registry.host}/test/single:v1@${single.manifest.digest}`);
    other.close();
  });

  it('fails cleanly for a digest that names no manifest', async () => {
    const wrong = single.config.digest; // a real blob, not a manifest: the registry answers 500
    const err = await pull(strata, `${registry.host}/test/single@${wrong}`, {
      retry: { attempts: 2, baseDelayMs: 10 },
    }).catch((e: unknown) => e);
    expect(isCode(err)).toBe(true);
    expect(String(err)).toContain(wrong);
    expect(() => strata.images.get(`${registry.host}/test/single@${wrong}`)).toThrow(/not found/);
  });

  it('selects one platform of an index, labelling the index', async () => {
    const s = await openStrata({ root: await tempDir(), namespace: 'multi' });
    const arm = multi.images[1]!;
    const image = await pull(s, `${registry.host}/test/multi`, { platform: 'linux/aarch64' });
    expect(image.name).toBe(`${registry.host}/test/multi:latest`);
    expect(image.target.digest).toBe(multi.index.digest);
    await expectStored(s, [multi.index, ...allBlobs(arm)]);
    for (const other of [multi.images[0]!, multi.images[2]!]) {
      await expect(s.content.info(other.manifest.digest)).rejects.toThrow(/not found/);
    }
    const indexInfo = await s.content.info(multi.index.digest);
    expect(indexInfo.labels['containerd.io/gc.ref.content.m.0']).toBe(arm.manifest.digest);
    expect(indexInfo.labels['containerd.io/gc.ref.content.m.1']).toBeUndefined();
    s.close();
  });

  it('falls back from arm/v8 to arm/v7, and fetches all platforms on request', async () => {
    const s = await openStrata({ root: await tempDir(), namespace: 'multi2' });
    const result = await fetchImage(s, `${registry.host}/test/multi`, { platform: 'linux/arm/v8' });
    expect(result.manifests.map((m) => m.digest)).toEqual([multi.images[2]!.manifest.digest]);
    const all = await pull(s, `${registry.host}/test/multi`, {
      allPlatforms: true,
      maxConcurrentDownloads: 1,
    });
    expect(all.target.digest).toBe(multi.index.digest);
    await expectStored(s, allBlobs(multi));
    const err = await pull(s, `${registry.host}/test/multi`, { platform: 'linux/s390x' }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'NotFound' });
    expect(String(err)).toMatch(/no manifest for linux\/s390x/);
    s.close();
  });

  it('indexes nested 5 deep: InvalidArgument naming the index too deep, nothing stored or recorded', async () => {
    const deep = await buildImage({ layers: [{ files: { deep: 'deep' } }] });
    await pushImage(registry.url, 'test/deep', 'image', deep);
    const chain: Blob[] = []; // chain[i] holds i + 1 indexes around the manifest
    let child: Blob = deep.manifest;
    for (let i = 0; i < 5; i++) {
      child = nestedIndex(child);
      chain.push(child);
      await putManifest(registry.url, 'test/deep', `nested${i + 1}`, child);
    }
    const s = await openStrata({ root: await tempDir(), namespace: 'deep' });
    // 4 indexes above the manifest is as deep as it goes
    const four = await pull(s, `${registry.host}/test/deep:nested4`);
    expect(four.target.digest).toBe(chain[3]!.digest);
    const t = await openStrata({ root: await tempDir(), namespace: 'deeper' });
    const err = await t.pull(`${registry.host}/test/deep:nested5`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InvalidArgument' });
    expect((err as Error).message).toBe(
      `${registry.host}/test/deep:nested5: index ${chain[0]!.digest}: nested too deeply`,
    );
    expect(t.images.list()).toEqual([]);
    for (const b of [deep.manifest, ...chain]) {
      await expect(t.content.info(b.digest)).rejects.toMatchObject({ code: 'NotFound' });
    }
    s.close();
    t.close();
  });

  it('reports a missing tag as NotFound naming the reference, and records nothing', async () => {
    const err = await pull(strata, `${registry.host}/test/single:nope`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NotFound' });
    expect(String(err)).toContain(`${registry.host}/test/single:nope`);
    expect(strata.images.list().map((i) => i.name)).not.toContain(
      `${registry.host}/test/single:nope`,
    );
  });
});
