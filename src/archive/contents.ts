import type { Store } from '../content/index.js';
import { fail, isCode } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import { type Digest, shortDigest } from '../oci/index.js';
import type { ProgressEvent } from '../progress.js';
import type { UnpackPlanner } from './one-pass.js';

/**
 * What an import sees of an archive, whatever its form (a tar read in one pass, or a
 * directory read on demand): its JSON members, and its blobs by digest or by member name,
 * brought into the content store (verified) when asked for.
 */
export interface ArchiveContents {
  /** Names the archive in messages. */
  readonly archive: string;
  readonly layoutFile?: Buffer;
  readonly indexFile?: Buffer;
  readonly dockerManifest?: Buffer;
  /** True when the blob is stored or the archive holds it. */
  has(desc: Descriptor): Promise<boolean>;
  /**
   * Makes sure the blob is in the content store with the descriptor's size (a directory
   * ingests it now, a layer through the planner's tap).
   * @throws NotFound when the archive lacks it; InvalidArgument on a size mismatch.
   */
  ensure(desc: Descriptor, role: string): Promise<void>;
  /**
   * A docker-save member (links followed inside the archive), stored as a blob.
   * @throws NotFound
   */
  member(name: string): Promise<{ readonly digest: Digest; readonly size: number }>;
}

export interface SourceContext {
  readonly content: Store;
  readonly planner: UnpackPlanner | undefined;
  readonly signal?: AbortSignal;
  readonly emit: (event: ProgressEvent) => void;
}

/** Checks that a blob is stored with the size its descriptor says. */
export async function checkStored(
  content: Store,
  desc: Descriptor,
  role: string,
  archive: string,
): Promise<boolean> {
  try {
    const info = await content.info(desc.digest);
    if (info.size !== desc.size) {
      throw fail(
        'InvalidArgument',
        `${archive}: ${role} ${shortDigest(desc.digest)}: size ${info.size}, descriptor says ${desc.size}`,
      );
    }
    return true;
  } catch (err) {
    if (isCode(err, 'NotFound')) return false;
    throw err;
  }
}

export function missingBlob(archive: string, role: string, digest: Digest): Error {
  return fail('NotFound', `${archive}: ${role} ${digest}: missing from the archive`);
}
