import { fail } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import {
  type Digest,
  type DigestAlgorithm,
  digestAlgorithm,
  digester,
  formatReference,
  isIndexType,
  isManifestType,
  MAX_MANIFEST_SIZE,
  MediaType,
  type Reference,
} from '../oci/index.js';
import { pullScope } from './auth.js';
import { statusError } from './errors.js';
import { contentDigest, type HeaderValue, lengthBeyond, parseLength, single } from './headers.js';
import { discard, errorDetail, type HttpResponse, readCapped } from './http.js';
import { authorizedSend, retried, type Session } from './request.js';
import type { RegistryHost } from './types.js';

/**
 * Resolving a reference to a descriptor on one host, and fetching manifests by digest
 * (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#pulling-manifests):
 * HEAD first, GET when HEAD does not tell the digest, size and type; every manifest body is
 * capped at MAX_MANIFEST_SIZE and checked against the digest asked for and against
 * `Docker-Content-Digest`. A Docker-Content-Digest that is not a digest fails the request
 * (containerd does this too) on HEAD and on GET; a HEAD whose Content-Length or Content-Type
 * is missing or malformed is ignored (the GET tells).
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

/**
 * Resolves `ref` on one host: HEAD, then GET when HEAD does not say enough. Each is one
 * request in the retry loop.
 * @throws NotFound, FailedPrecondition (digest mismatch, a malformed Docker-Content-Digest),
 *   Unauthenticated, Unavailable
 */
export async function resolveOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  signal?: AbortSignal,
): Promise<Resolved> {
  const name = formatReference(ref);
  const where = `manifest ${name} from ${host.host}`;
  const request = {
    target: manifestPath(host, ref, ref.digest ?? ref.tag ?? 'latest'),
    accept: MANIFEST_ACCEPT,
    what: `manifest ${name}`,
    notFound: `${name}: not found on ${host.host}`,
  };
  const found = await retried(session, () => headManifest(session, host, ref, request, signal), {
    signal,
  });
  if (found) {
    if (ref.digest && found.digest !== ref.digest) {
      throw fail('FailedPrecondition', `${name}: ${host.host} answered digest ${found.digest}`);
    }
    return { descriptor: found };
  }
  return retried(
    session,
    async () => {
      const res = await getManifest(session, host, ref, request, signal);
      const bytes = await readCapped(res, MAX_MANIFEST_SIZE, `manifest ${name}`);
      const digest = verifyManifest(bytes, ref.digest, res.headers['docker-content-digest'], where);
      const mediaType = mediaTypeOf(res.headers['content-type'], bytes);
      return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes };
    },
    { signal },
  );
}

interface ManifestRequest {
  readonly target: string;
  readonly accept: string;
  /** The subject of messages: `manifest <name>`. */
  readonly what: string;
  readonly notFound: string;
}

/** HEAD: the descriptor when the headers tell it all, undefined when a GET must. */
async function headManifest(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  request: ManifestRequest,
  signal: AbortSignal | undefined,
): Promise<Descriptor | undefined> {
  const head = await authorizedSend(session, host, request.target, {
    method: 'HEAD',
    headers: { accept: request.accept },
    scope: pullScope(ref.path),
    what: request.what,
    ...(signal ? { signal } : {}),
  });
  discard(head);
  if (head.status === 404) throw fail('NotFound', request.notFound);
  if (head.status !== 200) return undefined;
  return fromHeaders(head.headers, ref.digest, `${request.what} from ${host.host}`);
}

/** GET: a 200 answer whose body the caller reads. */
async function getManifest(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  request: ManifestRequest,
  signal: AbortSignal | undefined,
): Promise<HttpResponse> {
  const res = await authorizedSend(session, host, request.target, {
    method: 'GET',
    headers: { accept: request.accept },
    scope: pullScope(ref.path),
    what: request.what,
    ...(signal ? { signal } : {}),
  });
  if (res.status === 200) return res;
  if (res.status === 404) {
    discard(res);
    throw fail('NotFound', request.notFound);
  }
  const where = `${request.what} from ${host.host}`;
  throw statusError(where, res.status, undefined, await errorDetail(res));
}

/**
 * A descriptor from HEAD's headers, or undefined when they do not say enough (a missing or
 * malformed Content-Length, a type that is not a manifest's).
 * @throws FailedPrecondition for a Docker-Content-Digest that is not a digest.
 */
function fromHeaders(
  headers: Record<string, HeaderValue>,
  expected: Digest | undefined,
  where: string,
): Descriptor | undefined {
  const digest = contentDigest(headers['docker-content-digest'], where) ?? expected;
  const size = parseLength(headers['content-length']);
  const type = contentType(headers['content-type']);
  if (digest === undefined || size === undefined || size <= 0 || size > MAX_MANIFEST_SIZE)
    return undefined;
  if (type === undefined || !(isManifestType(type) || isIndexType(type))) return undefined;
  return { mediaType: type, digest, size };
}

/**
 * Fetches a manifest or index by its descriptor, as one request in the retry loop.
 * @throws NotFound, FailedPrecondition (size or digest mismatch, a Content-Length larger than
 *   the descriptor's size, a malformed Docker-Content-Digest), InvalidArgument (too big)
 */
export async function fetchManifestOn(
  session: Session,
  host: RegistryHost,
  ref: Reference,
  desc: Descriptor,
  signal?: AbortSignal,
): Promise<Buffer> {
  const what = `manifest ${desc.digest}`;
  const where = `${what} from ${host.host}`;
  if (desc.size > MAX_MANIFEST_SIZE) {
    throw fail(
      'InvalidArgument',
      `${what}: ${desc.size} bytes exceeds the ${MAX_MANIFEST_SIZE} byte limit`,
    );
  }
  const request = {
    target: manifestPath(host, ref, desc.digest),
    accept: [desc.mediaType, MANIFEST_ACCEPT].join(', '),
    what,
    notFound: `${what}: not found on ${host.host} (${ref.path})`,
  };
  return retried(
    session,
    async () => {
      const res = await getManifest(session, host, ref, request, signal);
      const beyond = lengthBeyond(res.headers['content-length'], desc.size, where);
      if (beyond) {
        discard(res);
        throw fail('FailedPrecondition', beyond);
      }
      const bytes = await readCapped(res, desc.size, what);
      if (bytes.byteLength !== desc.size) {
        throw fail(
          'FailedPrecondition',
          `${where}: ${bytes.byteLength} bytes, expected ${desc.size}`,
        );
      }
      verifyManifest(bytes, desc.digest, res.headers['docker-content-digest'], where);
      return bytes;
    },
    { signal },
  );
}

/**
 * Checks manifest bytes against the digest asked for and against the answer's
 * `Docker-Content-Digest` (in its own algorithm); returns the bytes' digest.
 * @throws FailedPrecondition on a mismatch or a malformed header.
 */
function verifyManifest(
  bytes: Buffer,
  expected: Digest | undefined,
  header: HeaderValue,
  where: string,
): Digest {
  const actual = digestIn(expected ? digestAlgorithm(expected) : 'sha256', bytes);
  if (expected !== undefined && actual !== expected) {
    throw fail('FailedPrecondition', `${where}: digest mismatch: got ${actual}, want ${expected}`);
  }
  const announced = contentDigest(header, where);
  if (announced === undefined) return actual;
  const recomputed =
    digestAlgorithm(announced) === digestAlgorithm(actual)
      ? actual
      : digestIn(digestAlgorithm(announced), bytes);
  if (announced !== recomputed) {
    throw fail(
      'FailedPrecondition',
      `${where}: body digest ${recomputed} differs from Docker-Content-Digest ${announced}`,
    );
  }
  return actual;
}

function digestIn(algorithm: DigestAlgorithm, bytes: Buffer): Digest {
  const d = digester(algorithm);
  d.update(bytes);
  return d.digest();
}

function mediaTypeOf(header: HeaderValue, bytes: Buffer): string {
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

function contentType(header: HeaderValue): string | undefined {
  return single(header)?.split(';')[0]?.trim().toLowerCase() || undefined;
}
