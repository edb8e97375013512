import { fail } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import { descriptorFrom, MediaType } from '../oci/index.js';
import { cleanMemberName } from './member-name.js';

/**
 * The small JSON members of archives: the OCI layout's `oci-layout` and `index.json`
 * (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) and docker-save's
 * `manifest.json`. They are read whole, capped like containerd's importer caps them.
 */

/** JSON members larger than this are refused (containerd's importer limit). */
export const MAX_JSON_MEMBER = 20 * 1024 * 1024;

export const LAYOUT_FILE = 'oci-layout';
export const INDEX_FILE = 'index.json';
export const DOCKER_MANIFEST_FILE = 'manifest.json';
export const LAYOUT_VERSION = '1.0.0';

function json(bytes: Uint8Array, what: string): unknown {
  if (bytes.byteLength > MAX_JSON_MEMBER) {
    throw fail('InvalidArgument', `${what}: larger than ${MAX_JSON_MEMBER} bytes`);
  }
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw fail('InvalidArgument', `${what}: invalid JSON: ${(err as Error).message}`);
  }
}

/**
 * Checks `oci-layout`: `imageLayoutVersion` 1.x.
 * @throws InvalidArgument, FailedPrecondition for another major version.
 */
export function checkLayoutFile(bytes: Uint8Array, archive: string): void {
  const what = `${archive}: ${LAYOUT_FILE}`;
  const value = json(bytes, what) as { imageLayoutVersion?: unknown } | null;
  const version = value?.imageLayoutVersion;
  if (typeof version !== 'string') {
    throw fail('InvalidArgument', `${what}: imageLayoutVersion missing`);
  }
  if (!/^1\.\d+\.\d+$/.test(version)) {
    throw fail('FailedPrecondition', `${what}: unsupported layout version ${version}`);
  }
}

/**
 * The entries of `index.json`, each a validated descriptor.
 * @throws InvalidArgument
 */
export function parseIndexFile(bytes: Uint8Array, archive: string): Descriptor[] {
  const what = `${archive}: ${INDEX_FILE}`;
  const value = json(bytes, what) as { schemaVersion?: unknown; manifests?: unknown } | null;
  if (typeof value !== 'object' || value === null || value.schemaVersion !== 2) {
    throw fail('InvalidArgument', `${what}: not an image index (schemaVersion 2)`);
  }
  if (!Array.isArray(value.manifests))
    throw fail('InvalidArgument', `${what}: "manifests" missing`);
  return value.manifests.map((m, i) => descriptorFrom(m, `${what}: manifest ${i}`));
}

/** One image of a docker-save `manifest.json`; paths are clean member names. */
export interface DockerEntry {
  readonly config: string;
  readonly repoTags: readonly string[];
  readonly layers: readonly string[];
}

/**
 * The entries of a docker-save `manifest.json` (format 1.2: Config, RepoTags, Layers).
 * @throws InvalidArgument
 */
export function parseDockerManifest(bytes: Uint8Array, archive: string): DockerEntry[] {
  const what = `${archive}: ${DOCKER_MANIFEST_FILE}`;
  const value = json(bytes, what);
  if (!Array.isArray(value)) throw fail('InvalidArgument', `${what}: not a JSON array`);
  return value.map((raw, i) => {
    const e = raw as { Config?: unknown; RepoTags?: unknown; Layers?: unknown } | null;
    const at = `${what}: entry ${i}`;
    if (typeof e?.Config !== 'string' || !Array.isArray(e.Layers)) {
      throw fail('InvalidArgument', `${at}: Config and Layers are required`);
    }
    const tags = Array.isArray(e.RepoTags) ? e.RepoTags : [];
    if (!tags.every((t): t is string => typeof t === 'string')) {
      throw fail('InvalidArgument', `${at}: RepoTags must be strings`);
    }
    const layers = e.Layers.map((l) => {
      if (typeof l !== 'string') throw fail('InvalidArgument', `${at}: Layers must be strings`);
      return cleanMemberName(l, at);
    });
    return { config: cleanMemberName(e.Config, at), repoTags: tags, layers };
  });
}

/**
 * The docker schema2 manifest containerd's importer builds for a docker-save entry, byte
 * for byte (Go's encoding: mediaType, digest, size), so both give the same digest.
 */
export function dockerSchema2Manifest(config: Descriptor, layers: readonly Descriptor[]): Buffer {
  const d = (x: Descriptor) => ({ mediaType: x.mediaType, digest: x.digest, size: x.size });
  return Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MediaType.dockerManifest,
      config: d(config),
      layers: layers.map(d),
    }),
  );
}
