/**
 * The one image walk (`walkImage`) over a real content store, with images built here:
 * nested indexes and their order (pre-order `index`, post-order `afterIndex`), platform
 * selection (best, all), concurrent children, the depth cap, artifacts (index children that
 * are not documents, manifests whose config is not an image config), children skipped by
 * the visitor, a shared child visited once, a missing blob, media-type confusion, and abort.
 */
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeBlob } from '../../src/content/index.js';
import {
  type ImageReader,
  storeReader,
  type Visitor,
  type WalkOptions,
  walkImage,
} from '../../src/image/index.js';
import {
  allPlatforms,
  type Descriptor,
  MediaType,
  onlyPlatform,
  orderedPlatforms,
} from '../../src/oci/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { tempDir } from '../fixtures/env.js';
import {
  type Blob,
  blob,
  buildImage,
  buildIndex,
  describe as describeBlob,
  nestedIndex,
  type TestImage,
  type TestIndex,
} from '../fixtures/images.js';

const AMD64 = { os: 'linux', architecture: 'amd64' };
const ARM64 = { os: 'linux', architecture: 'arm64', variant: 'v8' };
const host = onlyPlatform(AMD64);

const descriptorOf = (b: Blob): Descriptor => ({ ...describeBlob(b), digest: b.digest });

/** An OCI index of `children`, each with its platform when given. */
function indexOf(children: readonly { blob: Blob; platform?: object }[]): Blob {
  const manifests = children.map((c) => ({
    ...descriptorOf(c.blob),
    ...(c.platform ? { platform: c.platform } : {}),
  }));
  return blob(
    MediaType.ociIndex,
    Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests })),
  );
}

describe('walkImage', () => {
  let strata: Strata;
  let amd64: TestImage;
  let arm64: TestImage;
  let multi: TestIndex;
  /** Names for digests, so that events read as the tree they come from. */
  const names = new Map<string, string>();
  const nameOf = (d: string) => names.get(d) ?? d;
  const put = async (name: string, ...blobs: Blob[]) => {
    for (const b of blobs) {
      await writeBlob(strata.content, b.bytes, { expected: b.digest });
      names.set(b.digest, name);
    }
  };

  beforeAll(async () => {
    strata = await openStrata({ root: join(await tempDir('strata-walk-'), 'root') });
    amd64 = await buildImage({ platform: AMD64, layers: [{ files: { arch: 'amd64' } }] });
    arm64 = await buildImage({ platform: ARM64, layers: [{ files: { arch: 'arm64' } }] });
    multi = buildIndex([amd64, arm64]);
    await put('amd64', amd64.manifest, amd64.config);
    await put('arm64', arm64.manifest, arm64.config);
    await put('multi', multi.index);
  });

  /** A visitor writing each event as a line, and a reader recording what it reads. */
  const recorded = (read: ImageReader = storeReader(strata.content)) => {
    const events: string[] = [];
    const reads: string[] = [];
    const visit: Visitor = {
      index: (n) => {
        events.push(`index ${nameOf(n.descriptor.digest)} at ${n.depth}`);
      },
      afterIndex: (n, walked) => {
        events.push(`after ${nameOf(n.descriptor.digest)}: ${walked.map((c) => nameOf(c.digest))}`);
      },
      manifest: (n) => {
        const what = n.imageConfig ? `image ${n.imageConfig.architecture}` : 'artifact';
        events.push(`manifest ${nameOf(n.descriptor.digest)} (${what})`);
      },
      artifact: (n) => {
        events.push(`artifact ${nameOf(n.descriptor.digest)} of ${nameOf(n.parent.digest)}`);
      },
    };
    const reader: ImageReader = async (desc, options) => {
      reads.push(`${options.role} ${nameOf(desc.digest)}`);
      return read(desc, options);
    };
    return { events, reads, visit, read: reader };
  };

  const walk = (root: Blob, r: ReturnType<typeof recorded>, options: Partial<WalkOptions> = {}) =>
    walkImage(descriptorOf(root), { read: r.read, visit: r.visit, matcher: host, ...options });

  it('a nested index, best platform: parents first, afterIndex once the children are walked', async () => {
    const outer = nestedIndex(multi.index);
    await put('outer', outer);
    const r = recorded();
    await walk(outer, r);
    expect(r.events).toEqual([
      'index outer at 0',
      'index multi at 1',
      'manifest amd64 (image amd64)',
      'after multi: amd64',
      'after outer: multi',
    ]);
    expect(r.reads).toEqual(['index outer', 'index multi', 'manifest amd64', 'config amd64']);
  });

  it('all: every matching child, in index order; the matcher still filters', async () => {
    const both = recorded();
    await walk(multi.index, both, { matcher: allPlatforms, all: true });
    expect(both.events).toEqual([
      'index multi at 0',
      'manifest amd64 (image amd64)',
      'manifest arm64 (image arm64)',
      'after multi: amd64,arm64',
    ]);
    const armFirst = recorded();
    await walk(multi.index, armFirst, { matcher: orderedPlatforms([ARM64, AMD64]) });
    expect(armFirst.events).toContain('after multi: arm64');
    const onlyHost = recorded();
    await walk(multi.index, onlyHost, { all: true });
    expect(onlyHost.events).toContain('after multi: amd64');
  });

  it('concurrent children (runChildren): walked at once, the parent after all of them', async () => {
    let release: () => void = () => {};
    const amd64Held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const store = storeReader(strata.content);
    const r = recorded(async (desc, options) => {
      // amd64's manifest waits until arm64's has been visited: only a concurrent walk ends
      if (desc.digest === amd64.manifest.digest) await amd64Held;
      return store(desc, options);
    });
    const visit: Visitor = {
      ...r.visit,
      manifest: async (n) => {
        await r.visit.manifest?.(n);
        if (n.descriptor.digest === arm64.manifest.digest) release();
      },
    };
    await walkImage(descriptorOf(multi.index), {
      read: r.read,
      visit,
      matcher: allPlatforms,
      all: true,
      runChildren: async (tasks) => {
        await Promise.all(tasks.map((t) => t()));
      },
    });
    expect(r.events).toEqual([
      'index multi at 0',
      'manifest arm64 (image arm64)',
      'manifest amd64 (image amd64)',
      'after multi: amd64,arm64',
    ]);
  });

  it('indexes nested 4 deep are walked; 5 deep is InvalidArgument naming the index too deep', async () => {
    const chain: Blob[] = [];
    let child: Blob = amd64.manifest;
    for (let i = 0; i < 5; i++) {
      child = nestedIndex(child);
      chain.push(child);
      await put(`index${i}`, child);
    }
    const four = recorded();
    await walk(chain[3]!, four);
    expect(four.events).toContain('manifest amd64 (image amd64)');

    const five = recorded();
    const err = await walk(chain[4]!, five, { subject: 'image deep' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'InvalidArgument' });
    // the innermost index (depth 4) is the one refused, before any manifest is read
    expect((err as Error).message).toBe(`image deep: index ${chain[0]!.digest}: nested too deeply`);
    expect(five.reads).toEqual(
      ['index4', 'index3', 'index2', 'index1', 'index0'].map((n) => `index ${n}`),
    );

    const capped = await walk(chain[1]!, recorded(), { maxDepth: 1 }).catch((e: unknown) => e);
    expect(capped).toMatchObject({ code: 'InvalidArgument' });
    expect((capped as Error).message).toBe(`index ${chain[0]!.digest}: nested too deeply`);
  });

  it('artifacts: an index child that is no document is not read; an artifact manifest has no imageConfig', async () => {
    const sbom = blob('application/spdx+json', Buffer.from('{"spdxVersion":"SPDX-2.3"}'));
    names.set(sbom.digest, 'sbom');
    const artConfig = blob('application/vnd.example.config+json', Buffer.from('{"x":1}'));
    const art = blob(
      MediaType.ociManifest,
      Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaType.ociManifest,
          artifactType: 'application/vnd.example',
          config: descriptorOf(artConfig),
          layers: [],
        }),
      ),
    );
    const idx = indexOf([{ blob: amd64.manifest, platform: AMD64 }, { blob: sbom }, { blob: art }]);
    // neither the sbom nor the artifact's config is stored: the walk must not read them
    await put('art', art);
    await put('idx', idx);
    const r = recorded();
    await walk(idx, r, { all: true });
    expect(r.events).toEqual([
      'index idx at 0',
      'manifest amd64 (image amd64)',
      'artifact sbom of idx',
      'manifest art (artifact)',
      'after idx: amd64,sbom,art',
    ]);
    expect(r.reads).toEqual(['index idx', 'manifest amd64', 'config amd64', 'manifest art']);
  });

  it('a child the visitor skips is not read; afterIndex lists the children walked', async () => {
    const r = recorded();
    const skipArm: Visitor = {
      ...r.visit,
      child: (child, parent) => {
        expect(parent.descriptor.digest).toBe(multi.index.digest);
        return child.digest === arm64.manifest.digest ? 'skip' : 'walk';
      },
    };
    await walkImage(descriptorOf(multi.index), {
      read: r.read,
      visit: skipArm,
      matcher: allPlatforms,
      all: true,
    });
    expect(r.events).toEqual([
      'index multi at 0',
      'manifest amd64 (image amd64)',
      'after multi: amd64',
    ]);
    expect(r.reads).not.toContain('manifest arm64');
  });

  it('a config the visitor skips is not read: the manifest comes without imageConfig', async () => {
    const r = recorded();
    await walkImage(descriptorOf(amd64.manifest), {
      read: r.read,
      visit: {
        ...r.visit,
        config: (config, manifest) => {
          expect(manifest.digest).toBe(amd64.manifest.digest);
          return config.digest === amd64.config.digest ? 'skip' : 'walk';
        },
      },
      matcher: host,
    });
    expect(r.events).toEqual(['manifest amd64 (artifact)']);
    expect(r.reads).toEqual(['manifest amd64']);
  });

  it('a manifest listed twice is visited once; both entries count as walked', async () => {
    const twice = indexOf([
      { blob: amd64.manifest, platform: AMD64 },
      { blob: amd64.manifest, platform: { os: 'linux', architecture: '386' } },
    ]);
    await put('twice', twice);
    const r = recorded();
    await walk(twice, r, { matcher: allPlatforms, all: true });
    expect(r.events).toEqual([
      'index twice at 0',
      'manifest amd64 (image amd64)',
      'after twice: amd64,amd64',
    ]);
  });

  it("a missing blob: the reader's NotFound propagates, naming the digest", async () => {
    const absent = await buildImage({ platform: AMD64, layers: [{ files: { a: 'absent' } }] });
    const idx = nestedIndex(absent.manifest);
    await put('holey', idx);
    const err = await walk(idx, recorded()).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NotFound' });
    expect((err as Error).message).toContain(absent.manifest.digest);
  });

  it('a document that is not what its descriptor says: InvalidArgument naming it', async () => {
    const liar = { ...descriptorOf(multi.index), mediaType: MediaType.ociManifest };
    const r = recorded();
    const err = await walkImage(liar, { read: r.read, visit: r.visit, matcher: host }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'InvalidArgument' });
    expect((err as Error).message).toBe(
      `manifest ${multi.index.digest}: media type ${MediaType.ociIndex}, expected ${MediaType.ociManifest}`,
    );
  });

  it('abort: an aborted signal reads nothing; an abort during the walk stops it at the next node', async () => {
    const before = recorded();
    const err = await walk(multi.index, before, { signal: AbortSignal.abort() }).catch(
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ code: 'Aborted' });
    expect(before.reads).toEqual([]);

    const controller = new AbortController();
    const store = storeReader(strata.content);
    const during = recorded(async (desc, options) => {
      const bytes = await store(desc, options);
      controller.abort(); // once the root is read
      return bytes;
    });
    const late = await walk(multi.index, during, { signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    expect(late).toMatchObject({ code: 'Aborted' });
    expect(during.reads).toEqual(['index multi']);
    expect(during.events).toEqual(['index multi at 0']);
  });

  it('reads are capped by role (MAX_MANIFEST_SIZE, MAX_CONFIG_SIZE) and get the walk signal', async () => {
    const sizes = new Map<string, number>();
    const store = storeReader(strata.content);
    const { signal } = new AbortController();
    await walkImage(descriptorOf(amd64.manifest), {
      read: async (desc, options) => {
        sizes.set(options.role, options.maxSize);
        expect(options.signal).toBe(signal);
        return store(desc, options);
      },
      visit: {},
      matcher: host,
      signal,
    });
    expect(Object.fromEntries(sizes)).toEqual({
      manifest: 4 * 1024 * 1024,
      config: 8 * 1024 * 1024,
    });
  });
});
