import { collectGarbage, type RootHandle } from '../gc/index.js';
import { deleteRecords, readInventory } from '../metadata/index.js';
import { garbageFinding } from './garbage.js';
import { datalessIngests } from './ingests.js';
import type { Finding, Scan } from './types.js';

/**
 * Removes the garbage found: the ingest records without data (one write transaction), then
 * everything else through garbage collection (the same safe, transactional deletion).
 * Returns the findings marked `repaired`, except what is still there after (a staging
 * directory whose creator may be alive), which says it was kept.
 */
export async function repair(
  target: RootHandle,
  scan: Scan,
  findings: readonly Finding[],
  signal: AbortSignal | undefined,
): Promise<Finding[]> {
  deleteRecords(target.db, { ingests: datalessIngests(scan) });
  await collectGarbage(target, signal ? { signal } : {});
  // Read again: a snapshot made since the scan owns its directory and is not garbage.
  const left = await garbageFinding(target, readInventory(target.db).snapshots, signal);
  return findings.map((f): Finding => {
    if (f.severity !== 'garbage') return f;
    if (f.subject === 'root' && left)
      return { ...left, message: `${left.message} (kept: possibly in use)` };
    return { ...f, repaired: true };
  });
}
