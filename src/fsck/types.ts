import type { ScopedStatus } from '../content/index.js';
import type { Inventory } from '../metadata/index.js';

/**
 * A finding: `error` is an inconsistency (a record pointing at missing or corrupt data);
 * `garbage` is something a crash or an interrupted operation left that nothing refers to
 * (consistent: gc or `--repair` removes it); `info` is state worth knowing (a resumable
 * download).
 */
export interface Finding {
  readonly severity: 'error' | 'garbage' | 'info';
  readonly subject: string;
  readonly message: string;
  readonly repaired?: boolean;
}

export interface FsckOptions {
  /** Remove the garbage found (through garbage collection) and what is safe to drop. */
  readonly repair?: boolean;
  /** Skip re-hashing every blob (fast mode). */
  readonly noVerify?: boolean;
  readonly signal?: AbortSignal;
}

export interface FsckReport {
  readonly findings: readonly Finding[];
  /** True when no error remains (garbage and info do not count). */
  readonly consistent: boolean;
  readonly checked: {
    readonly blobs: number;
    readonly records: number;
    readonly snapshots: number;
  };
}

/** The blob files: which digests are on disk, and what the verify pass found. */
export interface BlobScan {
  /** Digests with a file under `blobs/sha256/`. */
  readonly onDisk: ReadonlySet<string>;
  /** Digest → what its bytes hash to, for the files whose bytes do not match their name. */
  readonly corrupt: ReadonlyMap<string, string>;
  /** File names under `blobs/sha256/` that are not a sha256 digest's hex. */
  readonly misnamed: readonly string[];
}

/**
 * What the checks look at: the blob files, then the records (one snapshot of every table),
 * then the ingest data — the order fsck has always read them in.
 */
export interface Scan {
  readonly root: string;
  readonly blobs: BlobScan;
  readonly records: Inventory;
  /** The ingests with data on disk. */
  readonly ingests: readonly ScopedStatus[];
}

/** One check: the findings of one kind, from the scan alone. */
export type Check = (scan: Scan) => Finding[];
