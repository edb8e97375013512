import { fail } from '../errors.js';
import { type Digest, isDigest } from '../oci/index.js';

/**
 * Member names are untrusted: every name is cleaned and checked before it becomes a lookup
 * key, and links between members are resolved inside the archive only. A name is a relative
 * path without `.` or empty components; absolute names and `..` are errors (containerd
 * cleans them away silently; an archive that carries one was not written by a tool).
 */

const MAX_NAME = 4096;
const MAX_HOPS = 16;

/**
 * The clean form of a member name (`./blobs//sha256/x` is `blobs/sha256/x`; `./` is '').
 * @throws InvalidArgument for absolute names, `..`, NUL bytes and overlong names.
 */
export function cleanMemberName(raw: string, archive: string): string {
  const shown = JSON.stringify(raw.slice(0, 200));
  if (raw.length > MAX_NAME) throw fail('InvalidArgument', `${archive}: member name too long`);
  if (raw.includes('\0')) throw fail('InvalidArgument', `${archive}: member ${shown}: NUL in name`);
  if (raw.startsWith('/')) {
    throw fail('InvalidArgument', `${archive}: member ${shown}: absolute name`);
  }
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) {
    throw fail('InvalidArgument', `${archive}: member ${shown}: ".." in name`);
  }
  return parts.join('/');
}

/**
 * The member a symlink named `name` points at, resolved relative to its directory
 * (`abc/layer.tar` -> `../def.tar` is `def.tar`).
 * @throws InvalidArgument when the target is absolute or climbs out of the archive.
 */
export function symlinkTarget(name: string, linkname: string, archive: string): string {
  const shown = `${archive}: symlink ${JSON.stringify(name)} -> ${JSON.stringify(linkname.slice(0, 200))}`;
  if (linkname.startsWith('/') || linkname.includes('\0')) {
    throw fail('InvalidArgument', `${shown}: target outside the archive`);
  }
  const parts = name.split('/').slice(0, -1);
  for (const p of linkname.split('/')) {
    if (p === '' || p === '.') continue;
    if (p !== '..') parts.push(p);
    else if (parts.pop() === undefined) {
      throw fail('InvalidArgument', `${shown}: target outside the archive`);
    }
  }
  return parts.join('/');
}

/**
 * Follows links (`name` -> target) until a name that is not a link.
 * @throws InvalidArgument on a loop or a chain longer than 16.
 */
export function followLinks(
  name: string,
  links: ReadonlyMap<string, string>,
  archive: string,
): string {
  let current = name;
  for (let hop = 0; hop <= MAX_HOPS; hop++) {
    const next = links.get(current);
    if (next === undefined) return current;
    current = next;
  }
  throw fail('InvalidArgument', `${archive}: member ${JSON.stringify(name)}: too many links`);
}

/**
 * The digest a `blobs/<algorithm>/<hex>` name stands for, undefined for other names.
 * @throws InvalidArgument for a name under `blobs/` that is not a valid digest.
 */
export function blobDigest(name: string, archive: string): Digest | undefined {
  if (!name.startsWith('blobs/')) return undefined;
  const parts = name.split('/');
  const digest = `${parts[1]}:${parts[2]}`;
  if (parts.length !== 3 || !isDigest(digest)) {
    throw fail(
      'InvalidArgument',
      `${archive}: member ${JSON.stringify(name.slice(0, 200))}: not blobs/<algorithm>/<digest>`,
    );
  }
  return digest;
}

/** `blobs/sha256/<hex>` for a validated digest. */
export function blobPath(digest: Digest): string {
  return `blobs/${digest.replace(':', '/')}`;
}
