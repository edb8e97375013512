import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Store } from '../content/index.js';
import { copyToWriter, openWriter, writeBlob } from '../content/index.js';
import { isCode } from '../errors.js';
import { describeImage, type ImageManifest } from '../image/index.js';
import {
  type Descriptor,
  type Digest,
  digester,
  MediaType,
  parseConfig,
  parseManifest,
} from '../oci/index.js';
import { imageDocuments } from './image-documents.js';
import { type Entry, type Profile, tarBytes } from './profiles.js';

/**
 * Turns a synthetic profile into a real OCI image in a content store: each layer a
 * tar+gzip blob (gzip level 1: generation is not what is measured, and inflating costs
 * about the same per byte at any level), a config listing the diffIDs, a manifest.
 */

export interface StoredImage {
  readonly image: ImageManifest;
  /** Uncompressed bytes of all layers. */
  readonly tarBytes: number;
  readonly entries: number;
}

export async function storeProfile(
  content: Store,
  profile: Profile,
  options: { readonly seed: number; readonly signal?: AbortSignal },
): Promise<StoredImage> {
  const layers: Descriptor[] = [];
  const diffIds: Digest[] = [];
  let tarSize = 0;
  let entries = 0;
  for (const layer of profile.layers(options.seed)) {
    options.signal?.throwIfAborted();
    const stored = await storeLayer(content, layer, options.signal);
    layers.push(stored.descriptor);
    diffIds.push(stored.diffId);
    tarSize += stored.tarBytes;
    entries += layer.length;
  }
  const { config, manifest } = imageDocuments(layers, diffIds, {
    createdBy: `strata bench profile ${profile.name}`,
    title: `strata bench ${profile.name}`,
  });
  for (const doc of [config, manifest]) {
    await writeBlob(content, doc.bytes, { expected: doc.descriptor.digest });
  }
  const image = describeImage(
    manifest.descriptor,
    parseManifest(manifest.bytes),
    parseConfig(config.bytes, `config ${config.descriptor.digest}`),
  );
  return { image, tarBytes: tarSize, entries };
}

/** Streams tar -> gzip -> content store, hashing the tar for the diffID on the way. */
async function storeLayer(
  content: Store,
  layer: readonly Entry[],
  signal?: AbortSignal,
): Promise<{ descriptor: Descriptor; diffId: Digest; tarBytes: number }> {
  const diff = digester();
  let tarSize = 0;
  const hashed = function* () {
    for (const chunk of tarBytes(layer)) {
      diff.update(chunk);
      tarSize += chunk.length;
      yield chunk;
    }
  };
  const gzip = createGzip({ level: 1 });
  const writer = await openWriter(content, {
    ref: `strata-bench-${randomBytes(8).toString('hex')}`,
    ...(signal ? { signal } : {}),
  });
  try {
    const [, size] = await Promise.all([
      pipeline(Readable.from(hashed()), gzip, signal ? { signal } : {}),
      copyToWriter(gzip, writer, signal),
    ]);
    const digest = writer.digest();
    try {
      await writer.commit({ size, expected: digest });
    } catch (err) {
      if (!isCode(err, 'AlreadyExists')) throw err;
    }
    const descriptor = { mediaType: MediaType.ociLayerGzip, digest, size };
    return { descriptor, diffId: diff.digest(), tarBytes: tarSize };
  } finally {
    await writer.close();
  }
}
