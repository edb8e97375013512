import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readBlob } from '../../src/content/index.js';
import type { FetchOptions } from '../../src/fetch/index.js';
import { openStrata } from '../../src/strata/index.js';
import { missing, skipNote, tempDir } from '../fixtures/env.js';
import { type FaultProxy, startFaultProxy } from '../fixtures/fault-proxy.js';
import { allBlobs, buildImage, pushImage, type TestImage } from '../fixtures/images.js';
import { freePort, REGISTRY_BIN, startRegistry, type TestRegistry } from '../fixtures/registry.js';
import { pull } from './pull-only.js';

const reason = missing({ commands: [REGISTRY_BIN] });
const fast: FetchOptions = {
  retry: { attempts: 2, baseDelayMs: 10 },
  credentials: async () => undefined,
};

describe.skipIf(reason)(`mirrors from hosts.toml${skipNote(reason)}`, () => {
  let upstream: TestRegistry;
  let mirror: TestRegistry;
  let mirrorProxy: FaultProxy;
  let upstreamProxy: FaultProxy;
  let onlyOnMirror: TestImage;
  let onlyUpstream: TestImage;

  beforeAll(async () => {
    upstream = await startRegistry();
    mirror = await startRegistry();
    mirrorProxy = await startFaultProxy(mirror.url);
    upstreamProxy = await startFaultProxy(upstream.url);
    onlyOnMirror = await buildImage({ layers: [{ files: { where: 'mirror' } }] });
    onlyUpstream = await buildImage({
      layers: [{ files: { where: 'upstream' } }, { files: { x: 'y' } }],
    });
    await pushImage(mirror.url, 'lib/cached', 'v1', onlyOnMirror);
    await pushImage(upstream.url, 'lib/fresh', 'v1', onlyUpstream);
  });

  const hostsDir = async (toml: string) => {
    const dir = await tempDir('strata-mirrors-');
    await mkdir(join(dir, upstreamProxy.host));
    await writeFile(join(dir, upstreamProxy.host, 'hosts.toml'), toml);
    return dir;
  };
  const expectBlobs = async (s: Awaited<ReturnType<typeof openStrata>>, image: TestImage) => {
    for (const b of allBlobs(image))
      expect((await readBlob(s.content, b.digest, { maxSize: 1 << 20 })).equals(b.bytes)).toBe(
        true,
      );
  };

  it('pulls through a mirror, telling it the namespace', async () => {
    mirrorProxy.clear();
    upstreamProxy.clear();
    const dir = await hostsDir(
      `server = "http://${upstreamProxy.host}"\n\n[host."http://${mirrorProxy.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const s = await openStrata({ root: await tempDir() });
    const name = `${upstreamProxy.host}/lib/cached:v1`;
    const image = await pull(s, name, { ...fast, hostsDir: dir });
    expect(image.name).toBe(name);
    await expectBlobs(s, onlyOnMirror);
    expect(mirrorProxy.requests.length).toBeGreaterThan(0);
    expect(
      mirrorProxy.requests.every((r) =>
        r.path.endsWith(`?ns=${encodeURIComponent(upstreamProxy.host)}`),
      ),
    ).toBe(true);
    expect(upstreamProxy.requests).toEqual([]);
    const info = await s.content.info(onlyOnMirror.manifest.digest);
    expect(info.labels[`containerd.io/distribution.source.${upstreamProxy.host}`]).toBe(
      'lib/cached',
    );
    s.close();
  });

  it('falls back past a dead mirror and a mirror without the image to the upstream', async () => {
    mirrorProxy.clear();
    upstreamProxy.clear();
    const dead = await freePort();
    const dir = await hostsDir(
      `server = "http://${upstreamProxy.host}"\n[host."http://127.0.0.1:${dead}"]\n[host."http://${mirrorProxy.host}"]\n`,
    );
    const s = await openStrata({ root: await tempDir() });
    const name = `${upstreamProxy.host}/lib/fresh:v1`;
    await pull(s, name, { ...fast, hostsDir: dir });
    await expectBlobs(s, onlyUpstream);
    expect(mirrorProxy.requests.some((r) => r.path.includes('/manifests/v1'))).toBe(true);
    expect(upstreamProxy.requests.some((r) => r.path.includes('/manifests/v1'))).toBe(true);
    s.close();
  });

  it('resolves upstream and fetches from a pull-only mirror with override_path', async () => {
    await pushImage(mirror.url, 'lib/fresh', 'v1', onlyUpstream);
    mirrorProxy.clear();
    upstreamProxy.clear();
    const dir = await hostsDir(
      `server = "http://${upstreamProxy.host}"\n[host."http://${mirrorProxy.host}/v2"]\ncapabilities = ["pull"]\noverride_path = true\n`,
    );
    const s = await openStrata({ root: await tempDir() });
    await pull(s, `${upstreamProxy.host}/lib/fresh:v1`, { ...fast, hostsDir: dir });
    await expectBlobs(s, onlyUpstream);
    expect(upstreamProxy.requests.every((r) => r.path.includes('/manifests/v1'))).toBe(true);
    expect(mirrorProxy.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(
      onlyUpstream.layers.length + 1,
    );
    s.close();
  });
});
