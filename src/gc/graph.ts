import { GC_REF_CONTENT, GC_REF_SNAPSHOT, GC_ROOT, OWNER_LABEL, OWNER_PROCESS } from '../labels.js';
import {
  type ContentRow,
  type Db,
  type IngestRow,
  type Labels,
  type LeaseResource,
  type LeaseRow,
  readInventory,
  type SnapshotRow,
} from '../metadata/index.js';

/**
 * The reference graph garbage collection walks, read from the metadata in one snapshot
 * (containerd's metadata GC, `core/metadata/gc.go`):
 *
 * - roots: image records (their target), unexpired leases (what they hold), records
 *   labelled `containerd.io/gc.root`, unexpired ingests;
 * - edges: `containerd.io/gc.ref.content[.*]` labels (to a digest in the same namespace),
 *   `containerd.io/gc.ref.snapshot.<snapshotter>[/*]` labels (to a snapshot key), and
 *   snapshot parents.
 *
 * Nodes are strings: `content ns digest`, `snapshot ns sn key`, `ingest ns ref`.
 */
const REF_SNAPSHOT = `${GC_REF_SNAPSHOT}.`;

export const contentNode = (ns: string, digest: string) => `content\0${ns}\0${digest}`;
export const snapshotNode = (ns: string, sn: string, key: string) =>
  `snapshot\0${ns}\0${sn}\0${key}`;
export const ingestNode = (ns: string, ref: string) => `ingest\0${ns}\0${ref}`;

export interface Graph {
  readonly content: readonly ContentRow[];
  readonly snapshots: readonly SnapshotRow[];
  readonly ingests: readonly IngestRow[];
  readonly leases: readonly LeaseRow[];
  /** Leases whose expiry has passed: they hold nothing and are removed. */
  readonly expiredLeases: readonly LeaseRow[];
  /** Every node reachable from a root. */
  readonly live: ReadonlySet<string>;
  /** Nodes a live lease holds directly (in-flight operations). */
  readonly leaseHeld: ReadonlySet<string>;
  /** Digests a live lease holds as `content`, in any namespace (blobs being committed). */
  readonly leasedContent: ReadonlySet<string>;
}

/**
 * Reads the metadata (one snapshot: the inventory) and marks what is reachable. Call inside
 * a transaction when deleting on its result. `ownerGone` tells whether the process owning a
 * lease labelled as process-owned has died (such a lease counts as expired; see owners.ts).
 */
export function markLive(db: Db, now: number, ownerGone?: (lease: LeaseRow) => boolean): Graph {
  const { images, content, snapshots, ingests, leases: allLeases } = readInventory(db);
  const alive = (expires: number | null) => expires === null || expires > now;
  const live = (l: LeaseRow) =>
    alive(l.expiresAt) && !(l.labels[OWNER_LABEL] === OWNER_PROCESS && ownerGone?.(l));
  // Asked once per lease: the owner check takes and drops a lock file.
  const isLive = new Map(allLeases.map((l) => [l, live(l)]));
  const leases = allLeases.filter((l) => isLive.get(l));
  const expiredLeases = allLeases.filter((l) => !isLive.get(l));
  const { roots, edges } = labelGraph(content, snapshots);
  for (const i of images) roots.push(contentNode(i.namespace, i.digest));
  for (const i of ingests) if (alive(i.expiresAt)) roots.push(ingestNode(i.namespace, i.ref));
  const leaseHeld = new Set<string>();
  const leasedContent = new Set<string>();
  for (const l of leases) {
    for (const r of l.resources) {
      const node = resourceNode(l.namespace, r);
      if (node === undefined) continue;
      if (r.type === 'content') leasedContent.add(r.id);
      roots.push(node);
      leaseHeld.add(node);
    }
  }
  return {
    content,
    snapshots,
    ingests,
    leases,
    expiredLeases,
    live: reach(roots, edges),
    leaseHeld,
    leasedContent,
  };
}

/** The node of what a lease holds (`content`, `ingests`, `snapshots/<sn>`); others: none. */
function resourceNode(ns: string, r: LeaseResource): string | undefined {
  if (r.type === 'content') return contentNode(ns, r.id);
  if (r.type === 'ingests') return ingestNode(ns, r.id);
  if (r.type.startsWith('snapshots/')) return snapshotNode(ns, r.type.slice(10), r.id);
  return undefined;
}

/** Edges from labels and snapshot parents, and the records labelled `gc.root`. */
function labelGraph(content: readonly ContentRow[], snapshots: readonly SnapshotRow[]) {
  const edges = new Map<string, string[]>();
  const link = (from: string, to: string) => {
    const list = edges.get(from);
    if (list) list.push(to);
    else edges.set(from, [to]);
  };
  const roots: string[] = [];
  const labelEdges = (from: string, ns: string, labels: Labels) => {
    for (const [key, value] of Object.entries(labels)) {
      if (key === GC_ROOT) roots.push(from);
      else if (key === GC_REF_CONTENT || key.startsWith(`${GC_REF_CONTENT}.`))
        link(from, contentNode(ns, value));
      else if (key.startsWith(REF_SNAPSHOT)) {
        const sn = key.slice(REF_SNAPSHOT.length).split('/')[0]!;
        link(from, snapshotNode(ns, sn, value));
      }
    }
  };
  for (const c of content) labelEdges(contentNode(c.namespace, c.digest), c.namespace, c.labels);
  for (const s of snapshots) {
    const node = snapshotNode(s.namespace, s.snapshotter, s.key);
    labelEdges(node, s.namespace, s.labels);
    if (s.parent !== null) link(node, snapshotNode(s.namespace, s.snapshotter, s.parent));
  }
  return { roots, edges };
}

/** Every node reachable from `roots`. */
function reach(roots: readonly string[], edges: ReadonlyMap<string, readonly string[]>) {
  const reached = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (reached.has(node)) continue;
    reached.add(node);
    for (const next of edges.get(node) ?? []) if (!reached.has(next)) stack.push(next);
  }
  return reached;
}
