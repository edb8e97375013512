/**
 * fsck: checks a root for consistency (every blob re-hashed, records against the disk and
 * the disk against records) and repairs what is safe — garbage a crash left, removed
 * through garbage collection. Resumable ingests are consistent.
 */
export { type Finding, type FsckOptions, type FsckReport, fsck } from './check.js';
