import { join } from 'node:path';
import type { RootHandle } from '../gc/index.js';
import { readInventory } from '../metadata/index.js';
import { corruptBlobs, misnamedBlobs, missingBlobs, scanBlobs } from './blobs.js';
import { garbageFinding } from './garbage.js';
import { danglingReferences, imageTargets } from './images.js';
import { ingestsWithoutData, resumableIngests } from './ingests.js';
import { repair } from './repair.js';
import { snapshotRecords } from './snapshots.js';
import type { Check, Finding, FsckOptions, FsckReport, Scan } from './types.js';

/** The checks of the records against the disk and back, in the order they are reported. */
const RECORD_CHECKS: readonly Check[] = [
  misnamedBlobs,
  corruptBlobs,
  missingBlobs,
  imageTargets,
  danglingReferences,
  snapshotRecords,
];
const INGEST_CHECKS: readonly Check[] = [ingestsWithoutData, resumableIngests];

/**
 * Checks a root: every blob re-hashed against its name; every record against the disk
 * (content rows → blobs, image targets → content and what they reference, snapshot rows →
 * directories, parents); the disk against the records (blobs, snapshot directories, staging
 * and trash, ingests); expired leases. The records are read in one snapshot. With `repair`,
 * garbage goes through garbage collection and ingest records without data are dropped, in
 * write transactions.
 * @throws Aborted when `signal` fires; ResourceExhausted when a repair finds the disk full
 */
export async function fsck(target: RootHandle, options: FsckOptions = {}): Promise<FsckReport> {
  const scan = await scanRoot(target, options);
  const garbage = await garbageFinding(target, scan.records.snapshots, options.signal);
  const findings = [
    ...RECORD_CHECKS.flatMap((check) => check(scan)),
    ...(garbage ? [garbage] : []),
    ...INGEST_CHECKS.flatMap((check) => check(scan)),
  ];
  const repairing = options.repair === true && findings.some((f) => f.severity === 'garbage');
  return report(scan, repairing ? await repair(target, scan, findings, options.signal) : findings);
}

async function scanRoot(target: RootHandle, options: FsckOptions): Promise<Scan> {
  const blobs = await scanBlobs(join(target.blobs.dir, 'blobs', 'sha256'), options);
  const records = readInventory(target.db);
  return { root: target.root, blobs, records, ingests: await target.blobs.listStatuses() };
}

function report(scan: Scan, findings: readonly Finding[]): FsckReport {
  return {
    findings,
    consistent: !findings.some((f) => f.severity === 'error'),
    checked: {
      blobs: scan.blobs.onDisk.size,
      records: scan.records.content.length + scan.records.images.length,
      snapshots: scan.records.snapshots.length,
    },
  };
}
