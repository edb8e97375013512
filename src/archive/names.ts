import { fail, isCode } from '../errors.js';
import type { Digest } from '../oci/index.js';
import { formatReference, parseReference } from '../oci/index.js';

/**
 * How images in an archive are named, as containerd's importer and exporter do
 * (core/images/archive): the full name travels in `io.containerd.image.name`; the OCI
 * `org.opencontainers.image.ref.name` holds only the tag (what skopeo and umoci read and
 * write); docker-save's `RepoTags` hold familiar names (`alpine:latest`). Every name is
 * normalized (`alpine:latest` is `docker.io/library/alpine:latest`).
 */
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';

/**
 * The normalized form of a reference found in an archive.
 * @throws InvalidArgument naming the archive.
 */
export function normalizeName(name: string, archive: string): string {
  try {
    return formatReference(parseReference(name));
  } catch (err) {
    if (!isCode(err, 'InvalidArgument')) throw err;
    throw fail('InvalidArgument', `${archive}: image name: ${err.message}`, err);
  }
}

/** The OCI ref name for a full name: its tag, else its digest (containerd's ociReferenceName). */
export function ociRefName(name: string): string {
  const ref = parseReference(name);
  return ref.tag ?? ref.digest ?? name;
}

/**
 * Checks a base name (`--base-name`): a repository, without tag or digest.
 * @throws InvalidArgument
 */
export function checkBaseName(base: string): string {
  const slash = base.lastIndexOf('/');
  if (base.includes('@') || base.lastIndexOf(':') > slash) {
    throw fail('InvalidArgument', `base name ${JSON.stringify(base)}: must have no tag or digest`);
  }
  const ref = parseReference(base);
  return `${ref.domain}/${ref.path}`;
}

/** A full reference rather than a bare tag: containerd's test for ref names. */
function isFullReference(name: string): boolean {
  return /[/:@]/.test(name);
}

/**
 * The name of an OCI index entry: `io.containerd.image.name`, else the ref name (a bare tag
 * is put under `baseName`), else `baseName@digest`; undefined when the entry has no usable
 * name and no base name was given.
 * @throws InvalidArgument when a name is malformed.
 */
export function entryName(
  annotations: Readonly<Record<string, string>> | undefined,
  digest: Digest,
  baseName: string | undefined,
  archive: string,
): string | undefined {
  const full = annotations?.[ANNOTATION_IMAGE_NAME];
  if (full) return normalizeName(full, archive);
  const ref = annotations?.[ANNOTATION_REF_NAME];
  if (ref && isFullReference(ref)) return normalizeName(ref, archive);
  if (baseName === undefined) return undefined;
  return normalizeName(ref ? `${baseName}:${ref}` : `${baseName}@${digest}`, archive);
}

/** The names of a docker-save entry: its RepoTags normalized, else `baseName@digest`. */
export function dockerEntryNames(
  repoTags: readonly string[],
  digest: Digest,
  baseName: string | undefined,
  archive: string,
): string[] {
  if (repoTags.length > 0) return repoTags.map((t) => normalizeName(t, archive));
  return baseName === undefined ? [] : [normalizeName(`${baseName}@${digest}`, archive)];
}
