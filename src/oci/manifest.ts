import { fail } from '../errors.js';
import type { Descriptor, Platform } from './descriptor.js';
import { type Digest, parseDigest, shortDigest } from './digest.js';
import { isIndexType, isManifestType, isSchema1Type } from './media-types.js';

/**
 * The image-spec documents strata reads, OCI and Docker schema2 alike, and their
 * validation. Parsing refuses what containerd refuses: media-type confusion (a manifest
 * carrying `manifests`, an index carrying `layers`), schema1, documents over
 * MAX_MANIFEST_SIZE, descriptors with a bad digest or a size that is not positive.
 */

/** Manifests and indexes larger than this are refused (containerd's limit too). */
export const MAX_MANIFEST_SIZE = 4 * 1024 * 1024;
/** Image configs larger than this are refused. */
export const MAX_CONFIG_SIZE = 8 * 1024 * 1024;

/** https://github.com/opencontainers/image-spec/blob/main/manifest.md */
export interface Manifest {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** https://github.com/opencontainers/image-spec/blob/main/image-index.md (and Docker's list) */
export interface Index {
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** https://github.com/opencontainers/image-spec/blob/main/config.md (the parts strata reads) */
export interface ImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly 'os.version'?: string;
  readonly created?: string;
  readonly author?: string;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly Digest[] };
  readonly history?: readonly Readonly<Record<string, unknown>>[];
}

export type Parsed =
  | { readonly kind: 'manifest'; readonly manifest: Manifest }
  | { readonly kind: 'index'; readonly index: Index };

type Json = Record<string, unknown>;

function decode(bytes: Uint8Array | string, what: string, limit: number): Json {
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.byteLength;
  if (size > limit) {
    throw fail('InvalidArgument', `${what}: ${size} bytes exceeds the ${limit} byte limit`);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw fail('InvalidArgument', `${what}: invalid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw fail('InvalidArgument', `${what}: not a JSON object`);
  }
  return value as Json;
}

/**
 * Parses a manifest or an index, telling them apart by `mediaType` (or by shape when the
 * field is absent, as OCI allows). `expectedType` is the media type the registry or the
 * parent descriptor announced; a document that contradicts it is refused.
 * @throws InvalidArgument; FailedPrecondition for schema1 (unsupported).
 */
export function parseAny(
  bytes: Uint8Array | string,
  what = 'manifest',
  expectedType?: string,
): Parsed {
  const json = decode(bytes, what, MAX_MANIFEST_SIZE);
  const declared = typeof json.mediaType === 'string' ? json.mediaType : undefined;
  const type = declared ?? expectedType;
  if (json.schemaVersion === 1 || (type !== undefined && isSchema1Type(type))) {
    throw fail('FailedPrecondition', `${what}: docker schema1 manifests are not supported`);
  }
  if (declared !== undefined && expectedType !== undefined && !sameKind(declared, expectedType)) {
    throw fail('InvalidArgument', `${what}: media type ${declared}, expected ${expectedType}`);
  }
  const isIndex =
    type !== undefined ? isIndexType(type) : 'manifests' in json && !('layers' in json);
  if (isIndex) return { kind: 'index', index: indexFrom(json, what) };
  if (type === undefined || isManifestType(type) || 'config' in json) {
    return { kind: 'manifest', manifest: manifestFrom(json, what) };
  }
  throw fail('InvalidArgument', `${what}: unsupported media type ${type}`);
}

/** Tolerates an unknown artifact type only when it equals the expectation exactly. */
function sameKind(a: string, b: string): boolean {
  if (isIndexType(a)) return isIndexType(b);
  if (isManifestType(a)) return isManifestType(b);
  return a === b;
}

/** Parses a manifest. @throws InvalidArgument (including an index given as a manifest). */
export function parseManifest(bytes: Uint8Array | string, what = 'manifest'): Manifest {
  const parsed = parseAny(bytes, what);
  if (parsed.kind !== 'manifest') throw fail('InvalidArgument', `${what}: is an index`);
  return parsed.manifest;
}

/** Parses an index or manifest list. @throws InvalidArgument (including a manifest). */
export function parseIndex(bytes: Uint8Array | string, what = 'index'): Index {
  const parsed = parseAny(bytes, what);
  if (parsed.kind !== 'index') throw fail('InvalidArgument', `${what}: is a manifest`);
  return parsed.index;
}

function manifestFrom(json: Json, what: string): Manifest {
  if (json.schemaVersion !== 2) throw fail('InvalidArgument', `${what}: schemaVersion must be 2`);
  if ('manifests' in json) {
    throw fail('InvalidArgument', `${what}: a manifest must not have "manifests"`);
  }
  if (!Array.isArray(json.layers)) throw fail('InvalidArgument', `${what}: "layers" missing`);
  const config = descriptorFrom(json.config, `${what}: config`);
  if (json.mediaType === undefined && isIndexType(config.mediaType)) {
    throw fail('InvalidArgument', `${what}: config has an index media type`);
  }
  return {
    schemaVersion: 2,
    mediaType:
      typeof json.mediaType === 'string'
        ? json.mediaType
        : 'application/vnd.oci.image.manifest.v1+json',
    config,
    layers: json.layers.map((l, i) => descriptorFrom(l, `${what}: layer ${i}`)),
    ...optionalCommon(json, what),
  };
}

function indexFrom(json: Json, what: string): Index {
  if (json.schemaVersion !== 2) throw fail('InvalidArgument', `${what}: schemaVersion must be 2`);
  if ('layers' in json || 'config' in json) {
    throw fail('InvalidArgument', `${what}: an index must not have "layers" or "config"`);
  }
  if (!Array.isArray(json.manifests)) {
    throw fail('InvalidArgument', `${what}: "manifests" missing`);
  }
  return {
    schemaVersion: 2,
    mediaType:
      typeof json.mediaType === 'string'
        ? json.mediaType
        : 'application/vnd.oci.image.index.v1+json',
    manifests: json.manifests.map((m, i) => descriptorFrom(m, `${what}: manifest ${i}`)),
    ...optionalCommon(json, what),
  };
}

function optionalCommon(json: Json, what: string) {
  return {
    ...(typeof json.artifactType === 'string' ? { artifactType: json.artifactType } : {}),
    ...(json.subject !== undefined
      ? { subject: descriptorFrom(json.subject, `${what}: subject`) }
      : {}),
    ...(isStringMap(json.annotations) ? { annotations: json.annotations } : {}),
  };
}

/**
 * Validates one descriptor: a media type, a valid digest, a positive safe-integer size.
 * @throws InvalidArgument naming `what`.
 */
export function descriptorFrom(value: unknown, what: string): Descriptor {
  if (typeof value !== 'object' || value === null) {
    throw fail('InvalidArgument', `${what}: descriptor is not an object`);
  }
  const d = value as Json;
  if (typeof d.mediaType !== 'string' || d.mediaType.length === 0) {
    throw fail('InvalidArgument', `${what}: descriptor has no media type`);
  }
  const digest = parseDigest(d.digest, what);
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size <= 0) {
    throw fail('InvalidArgument', `${what} ${shortDigest(digest)}: invalid size ${String(d.size)}`);
  }
  const urls = Array.isArray(d.urls)
    ? d.urls.filter((u): u is string => typeof u === 'string')
    : [];
  return {
    mediaType: d.mediaType,
    digest,
    size: d.size,
    ...(urls.length > 0 ? { urls } : {}),
    ...(isStringMap(d.annotations) ? { annotations: d.annotations } : {}),
    ...(d.platform !== undefined ? { platform: platformFrom(d.platform, what) } : {}),
    ...(typeof d.artifactType === 'string' ? { artifactType: d.artifactType } : {}),
  };
}

function platformFrom(value: unknown, what: string): Platform {
  const p = value as Json | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.os !== 'string' ||
    typeof p.architecture !== 'string'
  ) {
    throw fail('InvalidArgument', `${what}: invalid platform`);
  }
  const features = Array.isArray(p['os.features'])
    ? p['os.features'].filter((f): f is string => typeof f === 'string')
    : undefined;
  return {
    os: p.os,
    architecture: p.architecture,
    ...(typeof p.variant === 'string' && p.variant !== '' ? { variant: p.variant } : {}),
    ...(typeof p['os.version'] === 'string' ? { 'os.version': p['os.version'] } : {}),
    ...(features && features.length > 0 ? { 'os.features': features } : {}),
  };
}

/**
 * Parses an image config, checking the parts strata relies on (os, architecture,
 * rootfs.diff_ids as digests).
 * @throws InvalidArgument
 */
export function parseConfig(bytes: Uint8Array | string, what = 'config'): ImageConfig {
  const json = decode(bytes, what, MAX_CONFIG_SIZE);
  if (typeof json.os !== 'string' || typeof json.architecture !== 'string') {
    throw fail('InvalidArgument', `${what}: "os" and "architecture" are required`);
  }
  const rootfs = json.rootfs as Json | undefined;
  if (typeof rootfs !== 'object' || rootfs === null || rootfs.type !== 'layers') {
    throw fail('InvalidArgument', `${what}: rootfs.type must be "layers"`);
  }
  if (!Array.isArray(rootfs.diff_ids)) {
    throw fail('InvalidArgument', `${what}: rootfs.diff_ids missing`);
  }
  const diffIds = rootfs.diff_ids.map((d, i) => parseDigest(d, `${what}: diff_ids[${i}]`));
  return {
    ...json,
    os: json.os,
    architecture: json.architecture,
    rootfs: { type: 'layers', diff_ids: diffIds },
  };
}

function isStringMap(value: unknown): value is Readonly<Record<string, string>> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.values(value).every((v) => typeof v === 'string')
  );
}
