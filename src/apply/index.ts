/**
 * unpack: the layer applier. `applyLayer` turns a layer blob (gzip, zstd or plain tar,
 * told apart by magic bytes) into files in a snapshot directory in one streaming pass:
 * it hashes the diffID over the whole uncompressed stream, parses the tar (ustar, GNU and
 * PAX, binary xattrs), and applies every entry type with owners, modes (setuid/setgid/
 * sticky kept), times (directories last) and xattrs; OCI whiteouts become overlayfs
 * whiteouts (`overlay`, one directory per layer) or deletions (`native`, a copy of the
 * parent). Every name is resolved inside the directory as if it were `/`, so no entry can
 * create, change, follow or remove anything outside it. What Node's fs lacks (mknod,
 * xattrs) comes from `sys/`. Snapshotters own the directories; the pull pipeline feeds
 * the blob and commits the snapshot only when the diffID matches.
 *
 * Choices: tar is parsed here (tar-reader.ts), not by tar-stream, which decodes PAX values
 * as UTF-8 (breaking binary xattrs such as security.capability), parses past the
 * end-of-archive marker and gives header-only entries data; the parser follows Go's
 * archive/tar, so layers mean what they mean to containerd and umoci. Entries are applied
 * with synchronous fs calls (a few microseconds each) while zlib inflates on the
 * threadpool; zstd comes from node:zlib, else the `zstd` command, else fzstd (zstd.ts).
 */
export { applyLayer } from './apply-layer.js';
export {
  type DecompressOptions,
  decompress,
  detectCompression,
  type LayerSource,
} from './decompress.js';
export { type FinishLowerOptions, finishLower } from './finish-lower.js';
export { type ApplyPool, createApplyPool } from './pool.js';
export { createTarReader, type TarEntry, type TarReader } from './tar-reader.js';
export type {
  ApplyOptions,
  ApplyProgress,
  ApplyResult,
  DeferredLower,
  WhiteoutMode,
} from './types.js';
export { type ZstdImplementation, zstdImplementations } from './zstd.js';
