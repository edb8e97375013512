import { readdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { BlobStore } from '../content/index.js';
import { throwIfAborted } from '../errors.js';
import {
  type Db,
  deleteRecords,
  listIngests,
  read,
  type SnapshotRow,
  write,
} from '../metadata/index.js';
import { isDigest } from '../oci/index.js';
import { diskUsage, openSnapshotter, SNAPSHOTTERS, trash } from '../snapshots/index.js';
import { contentNode, type Graph, ingestNode, markLive, snapshotNode } from './graph.js';
import { ownerGone } from './owners.js';

export interface GcOptions {
  /** Report what would be freed; change nothing. */
  readonly dryRun?: boolean;
  /**
   * `expired` (gc): ingests are kept until their expiry (resumable downloads survive);
   * `all` (prune): every ingest no live lease holds goes, resumable or not.
   */
  readonly ingests?: 'expired' | 'all';
  readonly signal?: AbortSignal;
}

export interface GcReport {
  readonly dryRun: boolean;
  /** Content records removed (per namespace), and blob files deleted with their bytes. */
  readonly content: { readonly records: number; readonly blobs: number; readonly bytes: number };
  readonly snapshots: { readonly records: number; readonly bytes: number; readonly inodes: number };
  readonly ingests: { readonly records: number; readonly dirs: number; readonly bytes: number };
  /** Expired leases removed. */
  readonly leases: number;
}

/**
 * What gc, fsck and every whole-root operation work on: the root directory, its database
 * and its blob store (`Strata` is one, seen from a namespace).
 */
export interface RootHandle {
  readonly root: string;
  readonly db: Db;
  readonly blobs: BlobStore;
}

/**
 * Garbage collection over a whole root (every namespace), containerd's mark and sweep:
 * marks what is reachable from images, live leases, `gc.root` labels and unexpired ingests
 * (see graph.ts), and in the same write transaction deletes every other record — content,
 * snapshots (children first), ingests, expired leases. Then, in a second write transaction,
 * it deletes the blob files no record, ingest or lease refers to (see below).
 * Snapshot directories and ingest directories are removed after it; what a crash left
 * (staging, trash, directories without rows) is swept too.
 */
export async function collectGarbage(
  target: RootHandle,
  options: GcOptions = {},
): Promise<GcReport> {
  throwIfAborted(options.signal);
  const dryRun = options.dryRun ?? false;
  const blobsDir = join(target.blobs.dir, 'blobs', 'sha256');
  const mark = () =>
    markLive(target.db, Date.now(), (l) => ownerGone(target.root, l.namespace, l.id));
  const plan = (dryRun ? read : write)(target.db, () => {
    const graph = mark();
    const dead = deadRecords(graph, options.ingests ?? 'expired');
    if (dryRun) return { dead, blobs: unreferencedBlobs(graph, dead, blobsDir, false) };
    deleteRecords(target.db, dead); // joins this transaction
    return { dead, blobs: { count: 0, bytes: 0 } };
  });
  if (!dryRun) {
    // Blob files go once the record deletions are committed, in a second write transaction
    // that writes nothing: a kill inside it cannot roll back a deletion whose file is gone,
    // and a concurrent commit or adoption of the same digest (serialized by SQLite) either
    // came first, and is seen, or finds the file gone and writes it again.
    plan.blobs = write(target.db, () => unreferencedBlobs(mark(), NO_DEAD, blobsDir, true));
  }

  let snapshotBytes = 0;
  let inodes = 0;
  for (const s of plan.dead.snapshots) {
    throwIfAborted(options.signal);
    const parent = join(target.root, 'snapshots', s.snapshotter);
    const usage = await diskUsage(join(parent, s.id)).catch(() => ({ size: 0, inodes: 0 }));
    snapshotBytes += usage.size;
    inodes += usage.inodes;
    if (!dryRun) await trash(parent, s.id);
  }
  const ingestDirs = await sweepIngests(target, dryRun);
  if (!dryRun) {
    for (const name of SNAPSHOTTERS) {
      await openSnapshotter(name, {
        root: target.root,
        db: target.db,
        namespace: 'default',
      }).cleanup(options.signal ? { signal: options.signal } : {});
    }
  }
  return {
    dryRun,
    content: {
      records: plan.dead.content.length,
      blobs: plan.blobs.count,
      bytes: plan.blobs.bytes,
    },
    snapshots: { records: plan.dead.snapshots.length, bytes: snapshotBytes, inodes },
    ingests: { records: plan.dead.ingests.length, dirs: ingestDirs.count, bytes: ingestDirs.bytes },
    leases: plan.dead.leases.length,
  };
}

const NO_DEAD: Dead = { content: [], snapshots: [], ingests: [], leases: [] };

interface Dead {
  readonly content: Graph['content'];
  /** Children before parents. */
  readonly snapshots: readonly SnapshotRow[];
  readonly ingests: Graph['ingests'];
  readonly leases: Graph['expiredLeases'];
}

function deadRecords(graph: Graph, ingests: 'expired' | 'all'): Dead {
  const heldIngest = (ns: string, ref: string) => graph.live.has(ingestNode(ns, ref));
  return {
    content: graph.content.filter((c) => !graph.live.has(contentNode(c.namespace, c.digest))),
    snapshots: childrenFirst(
      graph.snapshots.filter(
        (s) => !graph.live.has(snapshotNode(s.namespace, s.snapshotter, s.key)),
      ),
    ),
    ingests: graph.ingests.filter((i) =>
      ingests === 'all' ? !heldByLease(graph, i.namespace, i.ref) : !heldIngest(i.namespace, i.ref),
    ),
    leases: graph.expiredLeases,
  };
}

/** For prune: an ingest a live lease holds (an operation in flight) stays. */
function heldByLease(graph: Graph, ns: string, ref: string): boolean {
  return graph.leaseHeld.has(ingestNode(ns, ref));
}

/** Orders snapshots so that every child comes before its parent. */
function childrenFirst(rows: readonly SnapshotRow[]): SnapshotRow[] {
  const byKey = new Map(rows.map((r) => [`${r.namespace}\0${r.snapshotter}\0${r.key}`, r]));
  const depth = (r: SnapshotRow): number => {
    let d = 0;
    for (let p = r.parent; p !== null; d++) {
      const parent = byKey.get(`${r.namespace}\0${r.snapshotter}\0${p}`);
      if (!parent) break;
      p = parent.parent;
    }
    return d;
  };
  return [...rows].sort((a, b) => depth(b) - depth(a));
}

/**
 * Blob files no remaining content record (any namespace), ingest (its expected digest) or
 * live lease refers to, counted, and deleted when `remove` (inside a write transaction).
 */
function unreferencedBlobs(graph: Graph, dead: Dead, blobsDir: string, remove: boolean) {
  const keep = new Set<string>();
  const goneContent = new Set(dead.content.map((c) => `${c.namespace}\0${c.digest}`));
  for (const c of graph.content)
    if (!goneContent.has(`${c.namespace}\0${c.digest}`)) keep.add(c.digest);
  const goneIngests = new Set(dead.ingests.map((i) => `${i.namespace}\0${i.ref}`));
  for (const i of graph.ingests) {
    if (i.expected !== null && !goneIngests.has(`${i.namespace}\0${i.ref}`)) keep.add(i.expected);
  }
  for (const digest of graph.leasedContent) keep.add(digest);
  let count = 0;
  let bytes = 0;
  for (const hex of readdirSync(blobsDir)) {
    const digest = `sha256:${hex}`;
    if (!isDigest(digest) || keep.has(digest)) continue;
    const path = join(blobsDir, hex);
    const size = statSync(path, { throwIfNoEntry: false })?.size;
    if (size === undefined) continue;
    if (remove) unlinkSync(path);
    count++;
    bytes += size;
  }
  return { count, bytes };
}

/** Ingest directories without a record (and not held by a live writer) are removed. */
async function sweepIngests(
  target: RootHandle,
  dryRun: boolean,
): Promise<{ count: number; bytes: number }> {
  const rows = new Set(listIngests(target.db).map((r) => `${r.namespace}\0${r.ref}`));
  let count = 0;
  let bytes = 0;
  // Ingest directories a crash left half-discarded (renamed aside, never reused).
  const ingestDir = join(target.blobs.dir, 'ingest');
  for (const name of readdirSync(ingestDir)) {
    if (!name.startsWith('.rm-')) continue;
    if (!dryRun) rmSync(join(ingestDir, name), { recursive: true, force: true });
    count++;
  }
  for (const status of await target.blobs.listStatuses()) {
    if (rows.has(`${status.scope}\0${status.ref}`)) continue;
    if (!dryRun) await target.blobs.sweep(status.ref, status.scope);
    count++;
    bytes += status.offset;
  }
  return { count, bytes };
}
