import { fail } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import {
  type Digest,
  digestAlgorithm,
  digester,
  formatReference,
  isDigest,
  MAX_MANIFEST_SIZE,
  MediaType,
  type Reference,
} from '../oci/index.js';
import { pullScope } from './auth.js';
import { discard, errorDetail, readCapped } from './http.js';
import { authorizedSend, type Session } from './request.js';
import type { RegistryHost } from './types.js';

/**
 * Resolving a reference to a descriptor on one host, and fetching manifests by digest
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests):
 * HEAD first, GET when HEAD does not tell the digest, size and type; every manifest body is
 * capped at MAX_MANIFEST_SIZE and checked against the digest asked for and against
 * `Docker-Content-Digest`.
 */

/** The Accept list containerd sends for manifests. */
export const MANIFEST_ACCEPT = [
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.ociIndex,
  '*/*',
].join(', ');

export interface Resolved {
  readonly descriptor: Descriptor;
  /** The manifest bytes when resolving had to GET them (already verified). */
  readonly bytes?: Buffer;
}

export function manifestPath(host: RegistryHost, ref: Reference, target: string): string {
  return `${host.path}/${ref.path}/manifests/${target}${nsQuery(host, ref)}`;
}

export function blobPath(host: RegistryHost, ref: Reference, digest: Digest): string {
  return `${host.path}/${ref.path}/blobs/${digest}${nsQuery(host, ref)}`;
}

/** Mirrors are told which registry the repository belongs to (containerd's `ns`). */
function nsQuery(host: RegistryHost, ref: Reference): string {
  return host.mirror ? `?ns=${encodeURIComponent(ref.domain)}` : '';
}

/** @throws NotFound, FailedPrecondition (digest mismatch), Unauthenticated, Unavailable */
export async function resolveOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  signal?: AbortSignal,
): Promise<Resolved> {
  const name = formatReference(ref);
  const target = ref.digest ?? ref.tag ?? 'latest';
  const request = {
    headers: { accept: MANIFEST_ACCEPT },
    scope: pullScope(ref.path),
    what: `manifest ${name}`,
    ...(signal ? { signal } : {}),
  };
  const head = await authorizedSend(session, host, manifestPath(host, ref, target), {
    ...request,
    method: 'HEAD',
  });
  discard(head);
  if (head.status === 404) throw fail('NotFound', `${name}: not found on ${host.host}`);
  if (head.status === 200) {
    const found = fromHeaders(head.headers, ref.digest);
    if (found) {
      if (ref.digest && found.digest !== ref.digest) {
        throw fail('FailedPrecondition', `${name}: ${host.host} answered digest ${found.digest}`);
      }
      return { descriptor: found };
    }
  }
  const res = await authorizedSend(session, host, manifestPath(host, ref, target), {
    ...request,
    method: 'GET',
  });
  if (res.status === 404) {
    discard(res);
    throw fail('NotFound', `${name}: not found on ${host.host}`);
  }
  if (res.status !== 200)
    throw fail('Unavailable', `${name}: ${host.host}: ${await errorDetail(res)}`);
  const bytes = await readCapped(res, MAX_MANIFEST_SIZE, `manifest ${name}`);
  const digest = verifyManifest(
    bytes,
    ref.digest,
    res.headers['docker-content-digest'],
    `${name} from ${host.host}`,
  );
  return {
    descriptor: {
      mediaType: mediaTypeOf(res.headers['content-type'], bytes),
      digest,
      size: bytes.byteLength,
    },
    bytes,
  };
}

/** A descriptor from HEAD's headers, or undefined when they do not say enough. */
function fromHeaders(
  headers: Record<string, string | string[] | undefined>,
  expected: Digest | undefined,
): Descriptor | undefined {
  const digest = single(headers['docker-content-digest']) ?? expected;
  const size = Number(single(headers['content-length']));
  const type = contentType(headers['content-type']);
  if (!isDigest(digest) || !Number.isSafeInteger(size) || size <= 0 || size > MAX_MANIFEST_SIZE)
    return undefined;
  if (type === undefined || type === 'application/json' || type === 'application/octet-stream')
    return undefined;
  return { mediaType: type, digest, size };
}

/**
 * Fetches a manifest or index by its descriptor.
 * @throws NotFound, FailedPrecondition (size or digest mismatch), InvalidArgument (too big)
 */
export async function fetchManifestOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  desc: Descriptor,
  signal?: AbortSignal,
): Promise<Buffer> {
  const what = `manifest ${desc.digest}`;
  if (desc.size > MAX_MANIFEST_SIZE) {
    throw fail(
      'InvalidArgument',
      `${what}: ${desc.size} bytes exceeds the ${MAX_MANIFEST_SIZE} byte limit`,
    );
  }
  const res = await authorizedSend(session, host, manifestPath(host, ref, desc.digest), {
    method: 'GET',
    headers: { accept: [desc.mediaType, MANIFEST_ACCEPT].join(', ') },
    scope: pullScope(ref.path),
    what,
    ...(signal ? { signal } : {}),
  });
  if (res.status === 404) {
    discard(res);
    throw fail('NotFound', `${what}: not found on ${host.host} (${ref.path})`);
  }
  if (res.status !== 200)
    throw fail('Unavailable', `${what}: ${host.host}: ${await errorDetail(res)}`);
  const bytes = await readCapped(res, Math.min(desc.size, MAX_MANIFEST_SIZE), what);
  if (bytes.byteLength !== desc.size) {
    throw fail(
      'FailedPrecondition',
      `${what}: ${host.host} sent ${bytes.byteLength} bytes, expected ${desc.size}`,
    );
  }
  verifyManifest(
    bytes,
    desc.digest,
    res.headers['docker-content-digest'],
    `${what} from ${host.host}`,
  );
  return bytes;
}

function verifyManifest(
  bytes: Buffer,
  expected: Digest | undefined,
  header: string | string[] | undefined,
  what: string,
): Digest {
  const d = digester(expected ? digestAlgorithm(expected) : 'sha256');
  d.update(bytes);
  const actual = d.digest();
  if (expected !== undefined && actual !== expected) {
    throw fail('FailedPrecondition', `${what}: digest mismatch: got ${actual}, want ${expected}`);
  }
  const announced = single(header);
  if (
    announced !== undefined &&
    isDigest(announced) &&
    digestAlgorithm(announced) === digestAlgorithm(actual) &&
    announced !== actual
  ) {
    throw fail(
      'FailedPrecondition',
      `${what}: body digest ${actual} differs from Docker-Content-Digest ${announced}`,
    );
  }
  return actual;
}

function mediaTypeOf(header: string | string[] | undefined, bytes: Buffer): string {
  const type = contentType(header);
  if (
    type &&
    type !== 'application/json' &&
    type !== 'application/octet-stream' &&
    type !== 'text/plain'
  )
    return type;
  try {
    const parsed = JSON.parse(bytes.toString('utf8')) as {
      mediaType?: unknown;
      manifests?: unknown;
    };
    if (typeof parsed.mediaType === 'string') return parsed.mediaType;
    return Array.isArray(parsed.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return type ?? MediaType.ociManifest;
  }
}

function contentType(header: string | string[] | undefined): string | undefined {
  return single(header)?.split(';')[0]?.trim().toLowerCase() || undefined;
}

function single(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}
