import { describe, expect, it } from 'vitest';
import {
  MAX_MANIFEST_SIZE,
  parseAny,
  parseConfig,
  parseIndex,
  parseManifest,
} from '../../src/oci/manifest.js';
import { MediaType } from '../../src/oci/media-types.js';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const desc = (mediaType: string, c: string, size = 10) => ({ mediaType, digest: d(c), size });
const manifest = {
  schemaVersion: 2,
  mediaType: MediaType.ociManifest,
  config: desc(MediaType.ociConfig, 'a'),
  layers: [desc(MediaType.ociLayerGzip, 'b'), desc(MediaType.ociLayerGzip, 'c')],
};
const index = {
  schemaVersion: 2,
  mediaType: MediaType.ociIndex,
  manifests: [
    {
      ...desc(MediaType.ociManifest, 'd'),
      platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
    },
  ],
};
const json = (v: unknown) => JSON.stringify(v);

describe('parsing manifests and indexes', () => {
  it('reads a manifest, an index and a docker manifest list', () => {
    expect(parseManifest(json(manifest)).layers.map((l) => l.digest)).toEqual([d('b'), d('c')]);
    expect(parseIndex(json(index)).manifests[0]!.platform).toEqual({
      os: 'linux',
      architecture: 'arm64',
      variant: 'v8',
    });
    expect(parseAny(json({ ...index, mediaType: MediaType.dockerManifestList })).kind).toBe(
      'index',
    );
    const { mediaType: _, ...bare } = index;
    expect(parseAny(json(bare)).kind).toBe('index');
  });

  it.each([
    ['a manifest with manifests', { ...manifest, manifests: [] }, /must not have "manifests"/],
    ['an index with layers', { ...index, layers: [] }, /must not have "layers"/],
    [
      'a zero size',
      { ...manifest, layers: [desc(MediaType.ociLayerGzip, 'b', 0)] },
      /invalid size 0/,
    ],
    [
      'a negative size',
      { ...manifest, config: desc(MediaType.ociConfig, 'a', -1) },
      /invalid size -1/,
    ],
    [
      'a fractional size',
      { ...manifest, config: desc(MediaType.ociConfig, 'a', 1.5) },
      /invalid size 1.5/,
    ],
    [
      'an invalid digest',
      { ...manifest, config: { ...manifest.config, digest: 'sha256:XYZ' } },
      /invalid digest/,
    ],
    [
      'no media type on a descriptor',
      { ...manifest, config: { digest: d('a'), size: 1 } },
      /no media type/,
    ],
    ['schemaVersion 3', { ...manifest, schemaVersion: 3 }, /schemaVersion must be 2/],
    ['no layers', { ...manifest, layers: undefined }, /"layers" missing/],
  ])('refuses %s', (_, doc, message) => {
    expect(() => parseAny(json(doc), 'doc')).toThrow(message);
  });

  it('refuses media-type confusion against the announced type', () => {
    expect(() => parseAny(json(manifest), 'doc', MediaType.ociIndex)).toThrow(
      /media type .* expected/,
    );
    expect(() => parseManifest(json(index))).toThrow(/is an index/);
    expect(() => parseIndex(json(manifest))).toThrow(/is a manifest/);
  });

  it('says schema1 is unsupported', () => {
    const err = (() => {
      try {
        parseAny(json({ schemaVersion: 1, name: 'x', fsLayers: [] }), 'docker.io/x:1');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toMatchObject({ code: 'FailedPrecondition' });
    expect(String(err)).toContain('docker.io/x:1: docker schema1 manifests are not supported');
    expect(() => parseAny('{}', 'm', MediaType.dockerSchema1SignedManifest)).toThrow(/schema1/);
  });

  it('caps documents at 4 MiB', () => {
    const big = json({ ...manifest, annotations: { pad: 'x'.repeat(MAX_MANIFEST_SIZE) } });
    expect(() => parseAny(big, 'm')).toThrow(/exceeds the 4194304 byte limit/);
  });

  it('reads configs and checks diff_ids', () => {
    const config = {
      os: 'linux',
      architecture: 'amd64',
      rootfs: { type: 'layers', diff_ids: [d('e')] },
    };
    expect(parseConfig(json(config)).rootfs.diff_ids).toEqual([d('e')]);
    expect(() =>
      parseConfig(json({ ...config, rootfs: { type: 'layers', diff_ids: ['nope'] } })),
    ).toThrow(/diff_ids\[0\]: invalid digest/);
    expect(() => parseConfig(json({ architecture: 'amd64', rootfs: config.rootfs }))).toThrow(
      /"os" and "architecture"/,
    );
    expect(() => parseConfig('[]')).toThrow(/not a JSON object/);
  });
});
