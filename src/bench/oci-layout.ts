import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ANNOTATION_REF_NAME } from '../archive/index.js';
import { fail } from '../errors.js';
import {
  type Descriptor,
  digestAlgorithm,
  digestHex,
  parseAny,
  parseDigest,
} from '../oci/index.js';

/**
 * Images of an OCI layout directory (`index.json`, `blobs/ALG/HEX`), read in place: the
 * lab's layout (`../shared/lab/build-images.sh`) that `npm run bench` measures, and the
 * `oci:DIR[:NAME]` workloads of `strata bench snapshotters`. Entries are named by their
 * ref name annotation, as skopeo and umoci name them.
 */

/** The path of a blob of the layout. @throws InvalidArgument for a malformed digest */
export function layoutBlobPath(dir: string, digest: string): string {
  const d = parseDigest(digest, `oci layout ${dir}: blob`);
  return join(dir, 'blobs', digestAlgorithm(d), digestHex(d));
}

/**
 * The entries of the layout's index, or undefined when `dir` has no index.json.
 * @throws InvalidArgument when index.json is not an image index; what reading it throws
 */
export async function layoutIndex(dir: string): Promise<readonly Descriptor[] | undefined> {
  const file = join(dir, 'index.json');
  if (!existsSync(file)) return undefined;
  const index = parseAny(await readFile(file), `oci layout ${dir}`);
  if (index.kind !== 'index') throw fail('InvalidArgument', `oci layout ${dir}: bad index.json`);
  return index.index.manifests;
}

/** An index entry's ref name (`org.opencontainers.image.ref.name`), if it has one. */
export function refNameOf(entry: Descriptor): string | undefined {
  return entry.annotations?.[ANNOTATION_REF_NAME];
}
