import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { SnapshotRow } from '../metadata/index.js';
import type { Check, Finding, Scan } from './types.js';

/**
 * Snapshot rows against the disk and each other: a row whose directory (`<id>/fs`) is gone,
 * and a row whose parent row is gone, are errors (reported row by row, directory first).
 */
export const snapshotRecords: Check = (scan) => {
  const keys = new Set(scan.records.snapshots.map((s) => snapshotKey(s, s.key)));
  return scan.records.snapshots.flatMap((s) => [
    ...missingDirectory(scan, s),
    ...missingParent(keys, s),
  ]);
};

function missingDirectory(scan: Scan, s: SnapshotRow): Finding[] {
  const fs = join(scan.root, 'snapshots', s.snapshotter, s.id, 'fs');
  if (statSync(fs, { throwIfNoEntry: false })?.isDirectory() === true) return [];
  return [
    {
      severity: 'error',
      subject: `snapshot ${s.key}`,
      message: `${s.snapshotter}, namespace ${s.namespace}: directory ${s.id} is missing`,
    },
  ];
}

function missingParent(keys: ReadonlySet<string>, s: SnapshotRow): Finding[] {
  if (s.parent === null || keys.has(snapshotKey(s, s.parent))) return [];
  return [
    { severity: 'error', subject: `snapshot ${s.key}`, message: `parent ${s.parent} is missing` },
  ];
}

const snapshotKey = (s: SnapshotRow, key: string) => `${s.namespace}\0${s.snapshotter}\0${key}`;
