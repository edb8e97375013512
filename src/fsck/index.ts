/**
 * fsck: checks a root for consistency (every blob re-hashed, records against the disk and
 * the disk against records, the records read in one snapshot) and repairs what is safe —
 * garbage a crash left, removed through garbage collection. Resumable ingests are
 * consistent. One check per function (blobs.ts, images.ts, snapshots.ts, ingests.ts,
 * garbage.ts), composed by fsck.ts; repair.ts removes.
 */
export { fsck } from './fsck.js';
export type { Finding, FsckOptions, FsckReport } from './types.js';
