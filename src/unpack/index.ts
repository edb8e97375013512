/**
 * unpack: the image unpacker. Turns an image's layers into committed snapshots named by
 * chainID: layers are applied (by `apply/`, in worker threads) in parallel where the
 * snapshotter can rebase, fed straight from their download during a pull (`tap`) or from
 * the content store, and committed in layer order once both digests are verified; a
 * failure leaves no half-applied snapshot. `unpackImage` unpacks from the store;
 * `ManifestUnpack` is the same unpacker fed by a pull or an archive import as blobs land.
 */
export { ManifestUnpack } from './manifest-unpack.js';
export type { UnpackOptions, UnpackResult } from './types.js';
export { createUnpackPool, labelConfig, unpackImage } from './unpack-image.js';
