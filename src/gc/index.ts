/**
 * gc: garbage collection of a root, across namespaces — containerd's mark and sweep over
 * the metadata (roots: images, live leases, `gc.root` labels, unexpired ingests; edges:
 * `gc.ref.*` labels and snapshot parents), deleting unreferenced records in one short
 * transaction and then their files: blobs, snapshot directories, ingests, crash leftovers.
 */
export { collectGarbage, type GcOptions, type GcReport, type RootHandle } from './collect.js';
export { contentNode, type Graph, ingestNode, markLive, snapshotNode } from './graph.js';
export { holdLease, ownerGone } from './owners.js';
