import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import {
  blobDescriptor,
  imageDocuments,
  layoutBlobPath,
  layoutIndex,
  refNameOf,
} from '../src/bench/index.js';
import { type Descriptor, type Manifest, MediaType, parseManifest } from '../src/oci/index.js';
import type { PushBlob, PushImage } from './registry.js';

/**
 * The images the harness measures: from the lab's OCI layout (`../shared/lab/
 * build-images.sh`), from generated layers, or from real trees of this machine when the
 * lab layout is missing.
 */

export interface LabImage {
  readonly name: string;
  readonly manifest: Manifest;
  readonly image: PushImage;
  blobPath(digest: string): string;
}

/** An image of the lab's OCI layout by its ref name, or undefined when absent. */
export async function labLayout(dir: string, name: string): Promise<LabImage | undefined> {
  const desc = (await layoutIndex(dir))?.find((m) => refNameOf(m) === name);
  if (!desc) return undefined;
  const blobPath = (digest: string) => layoutBlobPath(dir, digest);
  const bytes = await readFile(blobPath(desc.digest));
  const manifest = parseManifest(bytes, `lab/${name} manifest ${desc.digest}`);
  const withPath = (d: Descriptor): PushBlob => ({ ...strip(d), path: blobPath(d.digest) });
  return {
    name,
    manifest,
    blobPath,
    image: {
      manifest: { ...strip(desc), bytes },
      config: withPath(manifest.config),
      layers: manifest.layers.map(withPath),
    },
  };
}

/** An image whose layers are the given tars (gzip-compressed). */
export function imageOf(layers: readonly { tar: Buffer; gz: Buffer }[]): PushImage {
  const blobs = layers.map((l) => ({
    ...blobDescriptor(MediaType.ociLayerGzip, l.gz),
    bytes: l.gz,
  }));
  const diffIds = layers.map((l) => blobDescriptor(MediaType.ociLayer, l.tar).digest);
  const { config, manifest } = imageDocuments(blobs.map(strip), diffIds);
  return {
    manifest: { ...manifest.descriptor, bytes: manifest.bytes },
    config: { ...config.descriptor, bytes: config.bytes },
    layers: blobs,
  };
}

/**
 * An image from real trees of this machine, for when the lab layout is missing: node's
 * own npm package (a real npm tree) and /usr/share/doc, packed by GNU tar.
 */
export async function treeImage(): Promise<PushImage> {
  const trees = ['usr/lib/node_modules/npm', 'usr/share/doc'].filter((t) => existsSync(`/${t}`));
  const layers = [];
  for (const t of trees) {
    const tar = execFileSync('tar', ['--numeric-owner', '-C', '/', '-cf', '-', t], {
      maxBuffer: 2 ** 31,
    });
    layers.push({ tar, gz: await promisify(gzip)(tar, { level: 6 }) });
  }
  return imageOf(layers);
}

const strip = ({ mediaType, digest, size }: Descriptor): Descriptor => ({
  mediaType,
  digest,
  size,
});
