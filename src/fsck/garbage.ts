import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { collectGarbage, type RootHandle } from '../gc/index.js';
import type { SnapshotRow } from '../metadata/index.js';
import { SNAPSHOTTERS } from '../snapshots/index.js';
import type { Finding } from './types.js';

/**
 * One `garbage` finding for the root, when there is any: what garbage collection would
 * free (a dry run: unreferenced blobs and snapshots, stale ingests, expired leases) and the
 * snapshot directories no row owns (staging, trash, orphans).
 */
export async function garbageFinding(
  target: RootHandle,
  snapshots: readonly Pick<SnapshotRow, 'snapshotter' | 'id'>[],
  signal: AbortSignal | undefined,
): Promise<Finding | undefined> {
  const gc = await collectGarbage(target, { dryRun: true, ...(signal ? { signal } : {}) });
  const parts: string[] = [];
  if (gc.content.blobs > 0) parts.push(`${gc.content.blobs} unreferenced blobs`);
  if (gc.snapshots.records > 0) parts.push(`${gc.snapshots.records} unreferenced snapshots`);
  if (gc.ingests.records + gc.ingests.dirs > 0)
    parts.push(`${gc.ingests.records + gc.ingests.dirs} stale ingests`);
  if (gc.leases > 0) parts.push(`${gc.leases} expired leases`);
  const owned = new Set(snapshots.map((s) => `${s.snapshotter}/${s.id}`));
  const leftovers = snapshotLeftovers(target.root, owned);
  if (leftovers > 0)
    parts.push(`${leftovers} snapshot directories without records (staging, trash, orphans)`);
  return parts.length === 0
    ? undefined
    : { severity: 'garbage', subject: 'root', message: parts.join(', ') };
}

/** Entries under the snapshotter directories that no snapshot record owns. */
function snapshotLeftovers(root: string, owned: ReadonlySet<string>): number {
  let n = 0;
  for (const sn of SNAPSHOTTERS) {
    let entries: string[];
    try {
      entries = readdirSync(join(root, 'snapshots', sn));
    } catch {
      continue;
    }
    for (const e of entries) if (!owned.has(`${sn}/${e}`)) n++;
  }
  return n;
}
