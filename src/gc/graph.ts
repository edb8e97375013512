import { GC_REF_CONTENT, GC_REF_SNAPSHOT, GC_ROOT, OWNER_LABEL, OWNER_PROCESS } from '../labels.js';
import type { Db } from '../metadata/index.js';
import { parseLabels } from '../metadata/index.js';

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

export interface ContentRow {
  readonly namespace: string;
  readonly digest: string;
  readonly size: number;
  readonly labels: Record<string, string>;
}

export interface SnapshotRow {
  readonly namespace: string;
  readonly snapshotter: string;
  readonly key: string;
  readonly id: string;
  readonly parent: string | null;
  readonly labels: Record<string, string>;
}

export interface IngestRow {
  readonly namespace: string;
  readonly ref: string;
  readonly expected: string | null;
  readonly expires_at: number | null;
}

export interface LeaseRow {
  readonly namespace: string;
  readonly id: string;
  readonly labels: Record<string, string>;
  readonly expires_at: number | null;
}

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

type Raw<T> = Omit<T, 'labels'> & { labels: string };

/**
 * Reads the metadata and marks what is reachable. Call inside a transaction. `ownerGone`
 * tells whether the process owning a lease labelled as process-owned has died (such a
 * lease counts as expired; see owners.ts).
 */
export function markLive(db: Db, now: number, ownerGone?: (lease: LeaseRow) => boolean): Graph {
  const content = (
    db.prepare('SELECT namespace, digest, size, labels FROM content').all() as Raw<ContentRow>[]
  ).map((r) => ({ ...r, labels: parseLabels(r.labels) }));
  const snapshots = (
    db
      .prepare('SELECT namespace, snapshotter, key, id, parent, labels FROM snapshots')
      .all() as Raw<SnapshotRow>[]
  ).map((r) => ({ ...r, labels: parseLabels(r.labels) }));
  const ingests = db
    .prepare('SELECT namespace, ref, expected, expires_at FROM ingests')
    .all() as IngestRow[];
  const allLeases = (
    db.prepare('SELECT namespace, id, labels, expires_at FROM leases').all() as Raw<LeaseRow>[]
  ).map((r) => ({ ...r, labels: parseLabels(r.labels) }));
  const alive = (expires: number | null) => expires === null || expires > now;
  const live = (l: LeaseRow) =>
    alive(l.expires_at) && !(l.labels[OWNER_LABEL] === OWNER_PROCESS && ownerGone?.(l));
  const leases = allLeases.filter(live);
  const expiredLeases = allLeases.filter((l) => !live(l));

  const edges = new Map<string, string[]>();
  const link = (from: string, to: string) => {
    const list = edges.get(from);
    if (list) list.push(to);
    else edges.set(from, [to]);
  };
  const roots: string[] = [];
  const labelEdges = (from: string, ns: string, labels: Record<string, string>) => {
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
  for (const i of db.prepare('SELECT namespace, digest FROM images').all() as {
    namespace: string;
    digest: string;
  }[]) {
    roots.push(contentNode(i.namespace, i.digest));
  }
  for (const i of ingests) if (alive(i.expires_at)) roots.push(ingestNode(i.namespace, i.ref));
  const held = db.prepare('SELECT type, id FROM lease_resources WHERE namespace = ? AND lease = ?');
  const leaseHeld = new Set<string>();
  const leasedContent = new Set<string>();
  for (const l of leases) {
    for (const r of held.all(l.namespace, l.id) as { type: string; id: string }[]) {
      let node: string | undefined;
      if (r.type === 'content') {
        node = contentNode(l.namespace, r.id);
        leasedContent.add(r.id);
      } else if (r.type === 'ingests') node = ingestNode(l.namespace, r.id);
      else if (r.type.startsWith('snapshots/'))
        node = snapshotNode(l.namespace, r.type.slice(10), r.id);
      if (node === undefined) continue;
      roots.push(node);
      leaseHeld.add(node);
    }
  }

  const reached = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const node = stack.pop()!;
    if (reached.has(node)) continue;
    reached.add(node);
    for (const next of edges.get(node) ?? []) if (!reached.has(next)) stack.push(next);
  }
  return {
    content,
    snapshots,
    ingests,
    leases,
    expiredLeases,
    live: reached,
    leaseHeld,
    leasedContent,
  };
}
