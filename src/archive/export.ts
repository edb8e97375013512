import { createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { decompress } from '../apply/index.js';
import type { Store } from '../content/index.js';
import { fail, throwIfAborted } from '../errors.js';
import type { ImageManifest } from '../image/index.js';
import type { Descriptor } from '../oci/index.js';
import { type Digest, digester } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { Strata } from '../strata/index.js';
import {
  type DockerImage,
  dockerImages,
  dockerManifestFile,
  dockerMemberNames,
  indexEntry,
  indexFile,
  layoutFile,
  ociMemberNames,
} from './export-entries.js';
import { type ExportImage, planExport } from './export-plan.js';
import { DOCKER_MANIFEST_FILE, INDEX_FILE, LAYOUT_FILE } from './layout.js';
import { atomically, writeLayoutDir } from './layout-write.js';
import { blobPath } from './member-name.js';
import { selectionOf, singleMatcher } from './selection.js';
import { createTarWriter, type TarWriter } from './tar-write.js';
import type { ExportOptions, ExportResult } from './types.js';

/**
 * Exports images from the content store, streaming every blob (never a whole one in
 * memory), to:
 * - a tar (a path, written to a temporary name and renamed when complete; or a Writable):
 *   format `oci` is an OCI image layout with containerd's name annotations and a docker
 *   `manifest.json`, so containerd, skopeo, umoci and `docker load` all read it; format
 *   `docker` is docker-save's layout (uncompressed layers named by diffID);
 * - an OCI layout directory, when `dest` is an existing directory (added to).
 * Documents are written before layers, so that an importer can unpack in one pass.
 * @throws NotFound (image, platform or blob not stored), InvalidArgument (docker format with
 *   several platforms, or into a directory), Aborted
 */
export async function exportImages(
  strata: Strata,
  names: readonly string[],
  dest: string | Writable,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const format = options.format ?? 'oci';
  const selection = selectionOf(options);
  if (format === 'docker' && selection.all) {
    throw fail('InvalidArgument', 'docker archives hold one platform per image: give one platform');
  }
  if (names.length === 0) throw fail('InvalidArgument', 'export: no image named');
  const images = await planExport(strata.content, strata.images, names, selection, options);
  const emit = options.onProgress ?? (() => {});
  const o = {
    content: strata.content,
    emit,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  // Every document before any layer: a one-pass importer knows all images first.
  const blobs = unique([...images.flatMap((i) => i.documents), ...images.flatMap((i) => i.layers)]);
  const result = (bytes: number, count: number): ExportResult => ({
    images: images.map((i) => ({ name: i.name, digest: i.target.digest })),
    blobs: count,
    bytes,
  });
  if (typeof dest === 'string' && (await stat(dest).catch(() => undefined))?.isDirectory()) {
    if (format === 'docker') {
      throw fail('InvalidArgument', `${dest}: a docker archive is a tar, not a directory`);
    }
    return result(await writeLayoutDir(dest, strata.content, images, blobs, o), blobs.length);
  }
  const write = async (out: Writable): Promise<Written> => {
    const tar = createTarWriter(out, options.signal);
    try {
      const written =
        format === 'oci'
          ? await writeOci(tar, images, blobs, options, o)
          : await writeDocker(tar, dockerImages(images, singleMatcher(options)), o);
      await tar.finish();
      return written;
    } catch (err) {
      tar.destroy(err);
      throw err;
    }
  };
  if (typeof dest !== 'string') {
    const written = await write(dest);
    return result(written.bytes, written.blobs);
  }
  let written: Written = { bytes: 0, blobs: 0 };
  await atomically(dest, async (tmp) => {
    written = await write(createWriteStream(tmp, { flags: 'wx', mode: 0o644, flush: true }));
  });
  return result(written.bytes, written.blobs);
}

interface Written {
  readonly bytes: number;
  readonly blobs: number;
}

interface Out {
  readonly content: Store;
  readonly signal?: AbortSignal;
  readonly emit: (event: ProgressEvent) => void;
}

async function writeOci(
  tar: TarWriter,
  images: readonly ExportImage[],
  blobs: readonly Descriptor[],
  options: ExportOptions,
  o: Out,
): Promise<Written> {
  const docker = dockerImages(images, singleMatcher(options));
  await member(tar, LAYOUT_FILE, layoutFile());
  await member(tar, INDEX_FILE, indexFile(images.map((i) => indexEntry(i.name, i.target))));
  if (docker.length > 0) {
    const names = ociMemberNames;
    await member(tar, DOCKER_MANIFEST_FILE, dockerManifestFile(docker, names.config, names.layer));
  }
  await tar.directory('blobs');
  for (const algorithm of new Set(blobs.map((b) => b.digest.split(':')[0]!))) {
    await tar.directory(`blobs/${algorithm}`);
  }
  let bytes = 0;
  for (const desc of blobs) {
    throwIfAborted(o.signal);
    const body = progress(await o.content.reader(desc.digest), desc.digest, desc.size, o.emit);
    await tar.file(blobPath(desc.digest), desc.size, body);
    o.emit({ phase: 'done', id: desc.digest, kind: 'blob', done: desc.size, total: desc.size });
    bytes += desc.size;
  }
  return { bytes, blobs: blobs.length };
}

/** docker-save: manifest.json, configs, then each layer uncompressed (once per diffID). */
async function writeDocker(
  tar: TarWriter,
  images: readonly DockerImage[],
  o: Out,
): Promise<Written> {
  const names = dockerMemberNames;
  await member(tar, DOCKER_MANIFEST_FILE, dockerManifestFile(images, names.config, names.layer));
  const written = new Set<string>();
  let bytes = 0;
  for (const { manifest } of images) {
    const config = names.config(manifest);
    if (written.has(config)) continue;
    written.add(config);
    const body = await o.content.reader(manifest.config.digest);
    await tar.file(config, manifest.config.size, body);
    bytes += manifest.config.size;
  }
  for (const { manifest } of images) {
    for (let i = 0; i < manifest.layers.length; i++) {
      const name = names.layer(manifest, i);
      if (written.has(name)) continue;
      written.add(name);
      bytes += await uncompressedLayer(tar, name, manifest, i, o);
    }
  }
  return { bytes, blobs: written.size };
}

/**
 * Writes a layer uncompressed. A tar header needs the size first: a compressed layer is
 * decompressed twice, once to measure it (checking its diffID on the way), once to write it.
 */
async function uncompressedLayer(
  tar: TarWriter,
  name: string,
  image: ImageManifest,
  i: number,
  o: Out,
): Promise<number> {
  const layer = image.layers[i]!;
  const diffId = image.diffIds[i]!;
  const read = async () => decompress(await o.content.reader(layer.digest), signalOf(o));
  let size = layer.size;
  if (layer.digest !== diffId) {
    const hash = digester();
    size = 0;
    for await (const chunk of await read()) {
      hash.update(chunk as Uint8Array);
      size += (chunk as Uint8Array).byteLength;
    }
    const got: Digest = hash.digest();
    if (got !== diffId) {
      throw fail(
        'FailedPrecondition',
        `layer ${layer.digest}: diffID mismatch: got ${got}, want ${diffId}`,
      );
    }
  }
  await tar.file(name, size, progress(await read(), layer.digest, size, o.emit));
  o.emit({ phase: 'done', id: layer.digest, kind: 'layer', done: size, total: size });
  return size;
}

function signalOf(o: Out): { signal?: AbortSignal } {
  return o.signal ? { signal: o.signal } : {};
}

async function member(tar: TarWriter, name: string, bytes: Buffer): Promise<void> {
  await tar.file(name, bytes.byteLength, bytes);
}

async function* progress(
  source: AsyncIterable<unknown>,
  id: string,
  total: number,
  emit: (e: ProgressEvent) => void,
): AsyncGenerator<Uint8Array> {
  let done = 0;
  let last = 0;
  emit({ phase: 'exporting', id, kind: 'blob', done, total });
  for await (const chunk of source) {
    done += (chunk as Uint8Array).byteLength;
    const now = Date.now();
    if (now - last >= 100) {
      last = now;
      emit({ phase: 'exporting', id, kind: 'blob', done, total });
    }
    yield chunk as Uint8Array;
  }
}

function unique(descs: readonly Descriptor[]): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const d of descs) if (!seen.has(d.digest)) seen.set(d.digest, d);
  return [...seen.values()];
}
