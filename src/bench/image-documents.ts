import { type Descriptor, digester, hostPlatform, MediaType } from '../oci/index.js';

/**
 * The config and manifest of the images the benchmarks make up (synthetic profiles,
 * generated layers, trees of the machine): one platform, this host's, and a shell as the
 * command. The same layers give the same bytes, so the same digests.
 */

export interface ImageDocument {
  readonly descriptor: Descriptor;
  readonly bytes: Buffer;
}

export interface ImageDocuments {
  readonly config: ImageDocument;
  readonly manifest: ImageDocument;
}

export interface ImageDocumentOptions {
  /** `history[].created_by` of every layer (default: no history). */
  readonly createdBy?: string;
  /** The manifest's `org.opencontainers.image.title` annotation (default: none). */
  readonly title?: string;
}

/** A descriptor of `bytes`: their sha256 and size. */
export function blobDescriptor(mediaType: string, bytes: Uint8Array): Descriptor {
  const hash = digester();
  hash.update(bytes);
  return { mediaType, digest: hash.digest(), size: bytes.length };
}

/** The OCI config (listing `diffIds`) and manifest (listing `layers`) of an image. */
export function imageDocuments(
  layers: readonly Descriptor[],
  diffIds: readonly string[],
  options: ImageDocumentOptions = {},
): ImageDocuments {
  const { architecture, os } = hostPlatform();
  const { createdBy, title } = options;
  const config = json({
    architecture,
    os,
    config: { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: diffIds },
    ...(createdBy === undefined ? {} : { history: diffIds.map(() => ({ created_by: createdBy })) }),
  });
  const configDescriptor = blobDescriptor(MediaType.ociConfig, config);
  const manifest = json({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDescriptor,
    layers,
    ...(title === undefined ? {} : { annotations: { 'org.opencontainers.image.title': title } }),
  });
  return {
    config: { descriptor: configDescriptor, bytes: config },
    manifest: { descriptor: blobDescriptor(MediaType.ociManifest, manifest), bytes: manifest },
  };
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value));
