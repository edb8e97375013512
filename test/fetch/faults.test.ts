import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/content/index.js';
import type { FetchOptions } from '../../src/fetch/index.js';
import { staticCredentials } from '../../src/registry/index.js';
import { openStrata, type Strata } from '../../src/strata/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { allBlobs, buildImage, pushImage, type TestImage } from '../fixtures/images.js';
import { REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { pull } from './pull-only.js';

const reason = missing({ commands: [REGISTRY_BIN, 'htpasswd'] });
const fast: FetchOptions = {
  retry: { attempts: 4, baseDelayMs: 10, maxDelayMs: 50 },
  credentials: async () => undefined,
};

describe.skipIf(reason)(`pull through a fault-injecting proxy${skipNote(reason)}`, () => {
  let registry: TestRegistry;
  let proxy: FaultProxy;
  let image: TestImage;
  let big: `sha256:${string}`;
  let strata: Strata;
  let ref: string;

  beforeAll(async () => {
    registry = await startRegistry();
    proxy = await startFaultProxy(registry.url);
    image = await buildImage({
      layers: [
        { files: { a: '1' } },
        { files: { b: '2' }, randomKiB: 1536 },
        { files: { c: '3' }, randomKiB: 16 },
      ],
    });
    big = image.layers[1]!.digest;
    await pushImage(registry.url, 'faults/app', 'v1', image);
    ref = `${proxy.host}/faults/app:v1`;
  });

  beforeEach(async () => {
    proxy.clear();
    strata = await openStrata({ root: await tempDir(), namespace: 'faults' });
    return () => strata.close();
  });

  const blobPath = (digest: string) => new RegExp(`/blobs/${digest}`);
  const rangesFor = (digest: string) =>
    proxy.requests.filter((r) => r.path.includes(digest) && r.range).map((r) => r.range!);

  const expectComplete = async () => {
    for (const b of allBlobs(image)) {
      const stored = await readBlob(strata.content, b.digest, { maxSize: 1 << 24 });
      expect(stored.equals(b.bytes), b.digest).toBe(true);
    }
    expect(strata.images.get(ref).target.digest).toBe(image.manifest.digest);
    expect(await strata.content.listStatuses()).toEqual([]);
  };

  const expectNothingRecorded = async () => {
    expect(strata.images.list()).toEqual([]);
    await expect(strata.content.info(image.manifest.digest)).rejects.toMatchObject({
      code: 'NotFound',
    });
  };

  it('resumes a blob with Range after the connection is cut mid-body', async () => {
    proxy.inject(blobPath(big), { kind: 'cut', after: 300_000 }, 2);
    await pull(strata, ref, fast);
    await expectComplete();
    const ranges = rangesFor(big);
    expect(ranges.length).toBeGreaterThanOrEqual(2);
    expect(Number(/^bytes=(\d+)-$/.exec(ranges[0]!)?.[1])).toBeGreaterThan(0);
  });

  it('retries 500, 503 and 429 answers', async () => {
    proxy.inject(/\/manifests\//, { kind: 'status', status: 503 }, 2);
    proxy.inject(blobPath(image.config.digest), { kind: 'status', status: 500 }, 1);
    proxy.inject(blobPath(big), { kind: 'status', status: 429, retryAfter: 0 }, 2);
    const retries: string[] = [];
    await pull(strata, ref, {
      ...fast,
      onProgress: (e) => e.phase === 'retrying' && retries.push(e.message ?? ''),
    });
    await expectComplete();
    expect(proxy.requests.filter((r) => r.fault === 'status').length).toBe(5);
    expect(retries.some((m) => m.includes('HTTP 429') && m.includes(proxy.host))).toBe(true);
  });

  it('completes after a short body, asking for the rest', async () => {
    proxy.inject(blobPath(big), { kind: 'short', bytes: 100_000 }, 1);
    await pull(strata, ref, fast);
    await expectComplete();
    expect(rangesFor(big)).toEqual(['bytes=100000-']);
  });

  it('copes with a registry that ignores Range', async () => {
    proxy.inject(blobPath(big), { kind: 'cut', after: 200_000 }, 1);
    proxy.inject(blobPath(big), { kind: 'ignore-range' }, 1);
    await pull(strata, ref, fast);
    await expectComplete();
    expect(proxy.requests.filter((r) => r.fault === 'ignore-range')).toHaveLength(1);
  });

  it('fails on a wrong layer digest, committing and keeping nothing unverified', async () => {
    proxy.inject(blobPath(big), { kind: 'corrupt' }, 100);
    const err = await pull(strata, ref, fast).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(String(err)).toMatch(
      new RegExp(`blob sha256:[0-9a-f]{12}.* from ${proxy.host}: digest mismatch`),
    );
    await expectNothingRecorded();
    await expect(strata.content.info(big)).rejects.toMatchObject({ code: 'NotFound' });
    expect(await strata.content.listStatuses()).toEqual([]);
    proxy.clear();
    await pull(strata, ref, fast);
    await expectComplete();
  });

  it('fails on a wrong manifest digest', async () => {
    proxy.inject(new RegExp(`/manifests/${image.manifest.digest}`), { kind: 'corrupt' }, 100);
    const err = await pull(strata, ref, fast).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(String(err)).toContain('digest mismatch');
    await expectNothingRecorded();
  });

  it('gives up on a registry that keeps failing, with one clear line', async () => {
    proxy.inject(blobPath(big), { kind: 'status', status: 503 }, 100);
    const err = await pull(strata, ref, fast).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'Unavailable' });
    expect(String(err)).toContain(`from ${proxy.host}: HTTP 503`);
    await expectNothingRecorded();
  });

  it('resumes from the bytes on disk after an aborted pull', async () => {
    proxy.inject(blobPath(big), { kind: 'stall', after: 500_000 }, 1);
    const controller = new AbortController();
    const pulling = pull(strata, ref, { ...fast, signal: controller.signal }).catch(
      (e: unknown) => e,
    );
    // Abort while the proxy holds the connection open after 500000 bytes.
    for (let offset = 0; offset < 500_000; ) {
      await new Promise((r) => setTimeout(r, 20));
      offset = (await strata.content.status(big).catch(() => ({ offset: 0 }))).offset;
    }
    const started = Date.now();
    controller.abort(new Error('stop'));
    const err = await pulling;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(err).toMatchObject({ code: 'Aborted' });
    await expectNothingRecorded();
    const status = await strata.content.status(big);
    expect(status.offset).toBeGreaterThanOrEqual(500_000);
    proxy.clear();
    await pull(strata, ref, fast);
    await expectComplete();
    expect(rangesFor(big)).toEqual([`bytes=${status.offset}-`]);
  });

  it('follows a redirect to another origin without sending credentials there', async () => {
    const guarded = await startRegistry({
      storageDir: registry.storageDir,
      htpasswd: { alice: 'wonderland-secret' },
    });
    const front = await startFaultProxy(guarded.url);
    const storage = await startFaultProxy(registry.url);
    front.inject(/\/blobs\//, { kind: 'redirect', to: storage.url }, 100);
    const credentials = staticCredentials({
      [front.host]: { username: 'alice', secret: 'wonderland-secret' },
    });
    const name = `${front.host}/faults/app:v1`;
    const image2 = await pull(strata, name, { ...fast, credentials });
    expect(image2.target.digest).toBe(image.manifest.digest);
    for (const b of allBlobs(image)) {
      expect((await readBlob(strata.content, b.digest, { maxSize: 1 << 24 })).equals(b.bytes)).toBe(
        true,
      );
    }
    expect(storage.requests.length).toBeGreaterThanOrEqual(image.layers.length + 1);
    expect(storage.requests.every((r) => !r.authorization)).toBe(true);
    expect(
      front.requests.filter((r) => r.path.includes('/blobs/')).every((r) => r.authorization),
    ).toBe(true);
  });
});
