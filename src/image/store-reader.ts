import type { Provider } from '../content/index.js';
import { readBlob } from '../content/index.js';
import type { Descriptor } from '../oci/index.js';
import type { ImageReader, ReadOptions } from './walk.js';

/**
 * The content-store reader of an image walk: each document and config is read from the
 * store, capped at the walk's size for its role. `ensure`, when given, runs first: to bring
 * the blob into the store (fetch it, copy it from an archive) or to check it is there as
 * the caller requires (with the caller's message).
 * @throws NotFound (blob not stored), ResourceExhausted (over the cap), and what `ensure` throws
 */
export function storeReader(
  content: Provider,
  ensure?: (desc: Descriptor, options: ReadOptions) => Promise<void>,
): ImageReader {
  return async (desc, options) => {
    await ensure?.(desc, options);
    const { maxSize, signal } = options;
    return readBlob(content, desc.digest, { maxSize, ...(signal ? { signal } : {}) });
  };
}
